//! Landlock: the file system shrinks to the directories capd writes (state,
//! `--dump-json` output). Best effort: an older kernel enforces what it can
//! and the log says which ABI level was reached.

use std::path::PathBuf;

use landlock::{
    path_beneath_rules, Access, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
};

/// Newest ABI this code was written against.
const ABI_WANTED: ABI = ABI::V5;

/// Leaves `writable` fully accessible and `readable` readable, and nothing
/// else; returns what the kernel enforced, for the log.
pub(super) fn restrict(
    writable: &[PathBuf],
    readable: &[PathBuf],
) -> Result<String, sandbox::Error> {
    let all = AccessFs::from_all(ABI_WANTED);
    let ruleset = Ruleset::default()
        .handle_access(all)?
        .create()?
        .add_rules(path_beneath_rules(writable, all))?
        .add_rules(path_beneath_rules(
            readable,
            AccessFs::from_read(ABI_WANTED),
        ))?;
    sandbox::ruleset::enforce(ruleset)
}
