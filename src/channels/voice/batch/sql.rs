//! Multi-row statements of a batch ([`crate::store::bulk`]).

pub use crate::store::bulk::{fetch_in, insert_rows, V};
