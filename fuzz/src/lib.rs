//! Support for the fuzz targets in `fuzz_targets/`: see `checks` (capd's
//! parsers) and `web` (webd's parsers of request input).
pub mod checks;
pub mod web;
