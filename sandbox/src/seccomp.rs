//! seccomp: each daemon lists the calls it makes after start-up (its
//! policy); this turns such a list into filters and installs them.
//! Anything an allow-list does not name kills the process (SIGSYS).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::Error;

/// System call number → the argument rules of which one must match; no
/// rule means any arguments.
pub type Rules = BTreeMap<i64, Vec<SeccompRule>>;

/// Rules letting each of `calls` (number, name) through with any
/// arguments.
pub fn unconditional(calls: &[(i64, &'static str)]) -> Rules {
    calls.iter().map(|&(nr, _)| (nr, Vec::new())).collect()
}

/// Argument `arg` (32 bits) equals `value`.
pub fn eq(arg: u8, value: u64) -> Result<SeccompCondition, Error> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        value,
    )?)
}

/// Argument `arg` (32 bits) masked with `mask` equals `value`.
pub fn masked(arg: u8, mask: u64, value: u64) -> Result<SeccompCondition, Error> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(mask),
        value,
    )?)
}

/// A rule that matches when every condition does.
pub fn rule(conds: Vec<SeccompCondition>) -> Result<SeccompRule, Error> {
    Ok(SeccompRule::new(conds)?)
}

/// The architecture this process runs as: the filter refuses calls made
/// through any other system call table.
fn arch() -> Result<TargetArch, Error> {
    Ok(TargetArch::try_from(std::env::consts::ARCH)?)
}

/// The allow-list: what `rules` names gets through, anything else kills
/// the process.
pub fn allow_list(rules: Rules) -> Result<BpfProgram, Error> {
    Ok(SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch()?,
    )?
    .try_into()?)
}

/// A filter answering each of `calls` with `errno` without running it and
/// passing everything else on. When filters are stacked the kernel takes
/// the strictest answer, so this errno beats an allow-list's "allow".
pub fn refuse_with(calls: &[i64], errno: i32) -> Result<BpfProgram, Error> {
    let rules: Rules = calls.iter().map(|&nr| (nr, Vec::new())).collect();
    Ok(SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch()?,
    )?
    .try_into()?)
}

/// Installs `filters` in order on every thread (TSYNC). An allow-list
/// goes last, since it does not allow seccomp() itself.
pub fn install(filters: &[BpfProgram]) -> Result<(), Error> {
    for f in filters {
        seccompiler::apply_filter_all_threads(f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile() {
        let mut rules = unconditional(&[(libc::SYS_read, "read")]);
        let conds = vec![eq(0, 15).unwrap(), masked(1, 0xf, 1).unwrap()];
        rules.insert(libc::SYS_prctl, vec![rule(conds).unwrap()]);
        assert!(!allow_list(rules).unwrap().is_empty());
        assert!(!refuse_with(&[libc::SYS_clone3], libc::ENOSYS)
            .unwrap()
            .is_empty());
    }
}
