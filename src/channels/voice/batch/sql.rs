//! Multi-row statements of a batch: rows travel as one JSON parameter
//! ([`crate::store::bulk`]); the numbered-parameter limit is for the few statements that
//! still bind values one by one.

pub use crate::store::bulk::{fetch_in, insert_rows, V};
use crate::store::Tx;

/// True on the embedded SQLite backend.
pub fn is_sqlite(tx: &mut Tx) -> bool {
    tx.conn().backend_name().eq_ignore_ascii_case("sqlite")
}

/// Most numbered (`$n`) parameters in one statement: small on SQLite, which looks each one up
/// by name in a linear list (quadratic per statement).
pub fn max_numbered_params(tx: &mut Tx) -> usize {
    if is_sqlite(tx) {
        300
    } else {
        2000
    }
}
