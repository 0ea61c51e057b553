//! email tests.
