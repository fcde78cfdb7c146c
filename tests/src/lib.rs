//! Integration tests against a real Redis server; see `tests/`.
