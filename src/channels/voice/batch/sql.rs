//! Multi-row statements of a batch ([`crate::store::bulk`]).

pub use crate::store::bulk::{fetch_in, insert_rows, max_numbered_params, V};
use crate::store::Tx;

/// True on the embedded SQLite backend.
pub fn is_sqlite(tx: &mut Tx) -> bool {
    tx.is_sqlite()
}
