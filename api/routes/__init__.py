"""One router per resource, collected in :mod:`api.main`."""
