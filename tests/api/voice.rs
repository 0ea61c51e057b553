//! voice tests.
