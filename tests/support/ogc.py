"""What our OGC API – Features publishes."""

from __future__ import annotations

# The collections anyone may read (the staff-only "requests" is not among them)
PUBLIC = {
    "communities",
    "compounds",
    "grids",
    "buildings",
    "sites",
    "green_areas",
    "plants",
    "paths",
    "facilities",
    "water",
    "suggestions",
    "events",
    "proposals",
}
