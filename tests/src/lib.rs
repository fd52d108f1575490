//! Shared harness for the end-to-end tests in `tests/tests/`.

pub mod setup_support;
