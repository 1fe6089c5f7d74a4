"""Use cases: routing, imports, exports, validation, the demo community."""
