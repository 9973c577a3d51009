"""The read API: read models only, every answer says which seq it reflects."""
