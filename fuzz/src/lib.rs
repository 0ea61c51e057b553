//! The fuzz targets' checks; the targets in `fuzz_targets/` only hand them libFuzzer's input.
//! The same file is replayed by the server's `cargo test` over the committed corpus and every
//! input that once failed (`tests/fuzz_regressions.rs`).

pub mod checks;
