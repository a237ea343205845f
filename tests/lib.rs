//! Shared helpers live in `it/`; this library is intentionally empty.
