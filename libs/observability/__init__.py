"""Structured logging and metrics, configured once per process."""
