//! Landlock: each daemon builds its own ruleset (what it handles and
//! grants is its policy); this enforces it on the calling thread and says
//! what the kernel made of it. Best effort: an older kernel enforces what
//! it can, and the start-up log says which ABI level was reached.

use landlock::{LandlockStatus, RestrictionStatus, RulesetCreated, RulesetStatus};

use crate::Error;

/// Enforces `ruleset` and returns "Landlock ABI V5, fully enforced" (or
/// how much less) for the start-up log.
pub fn enforce(ruleset: RulesetCreated) -> Result<String, Error> {
    Ok(describe(&ruleset.restrict_self()?))
}

fn describe(status: &RestrictionStatus) -> String {
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => format!("ABI {effective_abi:?}"),
        LandlockStatus::NotEnabled => "not enabled in this kernel".into(),
        LandlockStatus::NotImplemented => "not built into this kernel".into(),
    };
    let how = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully enforced",
        RulesetStatus::PartiallyEnforced => "partially enforced",
        RulesetStatus::NotEnforced => "NOT enforced",
    };
    format!("Landlock {abi}, {how}")
}
