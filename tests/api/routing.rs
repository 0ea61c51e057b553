//! routing tests.
