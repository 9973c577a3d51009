"""Pure projections: (event envelope, typed payload) -> row writes. No I/O."""
