"""Presentation: HTML pages assembled from folium maps, translations and static assets."""
