//! Landlock: the file system shrinks to the directories capd writes (state,
//! `--dump-json` output). Best effort: an older kernel enforces what it can
//! and the log says which ABI level was reached.

use std::path::PathBuf;

use landlock::{
    path_beneath_rules, Access, AccessFs, LandlockStatus, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, ABI,
};

use super::PrivError;

/// Newest ABI this code was written against.
const ABI_WANTED: ABI = ABI::V5;

pub(super) fn restrict(writable: &[PathBuf], readable: &[PathBuf]) -> Result<String, PrivError> {
    let err = |e: landlock::RulesetError| PrivError::Landlock(e.to_string());
    let all = AccessFs::from_all(ABI_WANTED);
    let status = Ruleset::default()
        .handle_access(all)
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(writable, all))
        .map_err(err)?
        .add_rules(path_beneath_rules(
            readable,
            AccessFs::from_read(ABI_WANTED),
        ))
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => format!("{effective_abi:?}"),
        LandlockStatus::NotEnabled => "not enabled in this kernel".into(),
        LandlockStatus::NotImplemented => "not built into this kernel".into(),
    };
    let how = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully enforced",
        RulesetStatus::PartiallyEnforced => "partially enforced",
        RulesetStatus::NotEnforced => "NOT enforced",
    };
    Ok(format!("Landlock {abi}, {how}"))
}
