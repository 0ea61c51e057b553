//! Indexes a mass update drops and builds again afterwards, where the store builds an index
//! faster than it moves each entry.
//!
//! SQLite, a refit giving ~967,000 customers their segment (BENCHMARKS.md session 24): moving
//! each row's entry in `customer_values(segment, total_e4, customer_id)` writes two random
//! pages of a 50 MiB index per row through a 2 MiB page cache, 30.9 s; dropping the index,
//! writing, and building it again (one sorted pass) 4.8 s, of which the build holds the write
//! lock 0.9 s. While it is dropped, reads by segment fall back to the index by total.
//!
//! PostgreSQL keeps its indexes: its `DROP INDEX` waits for and then blocks every reader of
//! the table, and `CREATE INDEX` blocks its writers for the whole build.
//!
//! The same for an import's end adding to a tenth or more of the customers' totals (both
//! indexes holding `total_e4`): see `crate::orders::totals`.
//!
//! A crash between the drop and the build leaves the index missing: [`Store::migrate`] builds
//! every index named here that is missing when the server starts, and so does the end of every
//! mass update.

use super::{Backend, Store, StoreError, StoreResult};

/// An index of a migration that a mass update may drop for a while.
pub struct Index {
    name: &'static str,
    /// Its definition as in the migration that made it, as `CREATE INDEX IF NOT EXISTS`.
    create: &'static str,
}

/// `customer_values(segment, total_e4, customer_id)` (migration 0014, both backends): a
/// refit rewrites segments in bulk.
pub const CUSTOMER_VALUES_SEGMENT: Index = Index {
    name: "customer_values_segment",
    create: "CREATE INDEX IF NOT EXISTS customer_values_segment \
             ON customer_values(segment, total_e4, customer_id)",
};

/// `customer_values(total_e4, customer_id)` (migration 0014, both backends): a large import
/// adds to most customers' totals at its end.
pub const CUSTOMER_VALUES_TOTAL: Index = Index {
    name: "customer_values_total",
    create: "CREATE INDEX IF NOT EXISTS customer_values_total \
             ON customer_values(total_e4, customer_id)",
};

/// Every index a mass update may have left dropped (a later migration that changes one of
/// them must change it here too).
const DROPPABLE: &[&Index] = &[&CUSTOMER_VALUES_SEGMENT, &CUSTOMER_VALUES_TOTAL];

impl Store {
    /// Whether [`Store::drop_for_mass_update`] drops indexes (SQLite).
    pub fn rebuilds_indexes(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Drop `index` before a mass update of its columns, on stores that build an index faster
    /// than they move its entries (SQLite); true if it was dropped, and then
    /// [`Store::restore_indexes`] must follow the update, whether or not it succeeded.
    pub async fn drop_for_mass_update(&self, index: &Index) -> StoreResult<bool> {
        if !self.rebuilds_indexes() {
            return Ok(false);
        }
        sqlx::query(&format!("DROP INDEX IF EXISTS {}", index.name))
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    /// Build every droppable index that is missing: after a mass update, and at start (a
    /// crash or a failed build in an earlier one is mended by the next of either).
    pub async fn restore_indexes(&self) -> StoreResult<()> {
        for index in DROPPABLE {
            sqlx::query(index.create)
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        Ok(())
    }
}
