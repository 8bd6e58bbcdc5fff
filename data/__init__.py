"""Shipped data: boundaries with provenance, named places, the taxonomy (installed as hotspots.data; see README.md)."""
