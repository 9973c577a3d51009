"""Pure projections: (event view, JSON payload) -> parameterised row writes. No I/O."""
