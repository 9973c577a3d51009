"""Command payloads, imperative. What a client may ask; limits are explicit in the types."""
