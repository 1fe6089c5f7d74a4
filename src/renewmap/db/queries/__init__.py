"""Keyword-only query functions, one module per domain.

Services call these; no other layer builds SQL."""
