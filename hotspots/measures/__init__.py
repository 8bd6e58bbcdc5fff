"""Measures (insatser): what EST decided where, checked on the way in, and their follow-up."""
