"""Projectors: fold the log into PostgreSQL read models, checkpointed in the same transaction."""
