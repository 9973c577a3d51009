"""HTTP plumbing shared by the API services: problem+json errors, limits, health, metrics."""
