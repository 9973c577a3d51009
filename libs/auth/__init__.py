"""Auth primitives shared by the API nodes: signed tokens and password hashing."""
