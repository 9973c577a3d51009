"""Auth primitives shared by the API nodes: signed access tokens, password hashing and
policy, opaque refresh/reset tokens, API keys, sign-in throttling, reset-mail delivery."""
