"""Open drug-trade hotspot mapping for EST Örebro (domain core: no web code)."""
