"""Operator and benchmark tools of the projector (not imported by the services)."""
