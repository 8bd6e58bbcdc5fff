"""Rendering: folium map page, vector tiles, weekly report."""
