"""The operator CLI and composition roots. It wires the services; the services never import
each other, and nothing outside this package imports more than one of them."""
