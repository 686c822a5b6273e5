//! Support for the fuzz targets in `fuzz_targets/`: see `checks`.
pub mod checks;
