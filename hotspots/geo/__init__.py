"""Where things are: areas, named places, H3 cells (vectorised) and the metric projection that fits the areas."""
