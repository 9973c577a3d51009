"""The pure domain: state of one registry, decisions, invariants, permissions. No I/O."""
