"""Synthetic demo data with planted truth: reports, their calendar and the planted measures."""
