"""Closing the loop: field visits, observations from the phone, and the dose each place got."""
