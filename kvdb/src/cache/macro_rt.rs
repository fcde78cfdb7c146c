//! The runtime of `#[kvdb::cached]`.
