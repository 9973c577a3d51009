"""The published language of the registry: envelopes, commands, events, results.

Pure pydantic, no I/O. Every service imports from here; nothing here imports a service.
"""
