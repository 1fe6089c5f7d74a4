"""Data coming in: geodata file imports (all-or-nothing), OpenStreetMap extracts, checked uploads
and atomic outputs, the demo community. Not here: editing what is already stored (``places``
for boundaries and assignments)."""
