"""Presentation: the pages people read, built from templates, folium maps, translations and
static assets, from data the services return. Not here: queries or rules."""
