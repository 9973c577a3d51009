"""Event payloads, past tense. Each class names its stable TYPE, VERSION and AGGREGATE."""
