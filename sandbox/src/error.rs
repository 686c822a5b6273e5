//! What a step of the drop can fail with. Every variant names the step, so
//! the daemon's start-up error says which one did not happen.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("user {0:?} does not exist: create it with `systemd-sysusers systemd/darkstat-rs.sysusers.conf` (installed as /usr/lib/sysusers.d/darkstat-rs.conf), or `useradd --system --no-create-home --shell /usr/sbin/nologin {0}`, or choose another with --user")]
    NoSuchUser(String),
    #[error("refusing to run as {0:?}: other daemons share it; use a dedicated user (--user)")]
    SharedUser(String),
    #[error("refusing to run as {0:?}: it has uid 0")]
    RootUser(String),
    #[error("cannot look up user {user:?}: {source}")]
    Lookup { user: String, source: nix::Error },
    #[error("cannot drop privileges ({step}): {source}")]
    Drop {
        step: &'static str,
        source: nix::Error,
    },
    #[error("cannot drop capabilities ({step}): {source}")]
    Caps {
        step: &'static str,
        source: caps::errors::CapsError,
    },
    #[error("cannot set up Landlock: {0}")]
    Landlock(#[from] landlock::RulesetError),
    #[error("cannot build the seccomp filter: {0}")]
    SeccompBuild(#[from] seccompiler::BackendError),
    #[error("cannot install the seccomp filter: {0}")]
    SeccompInstall(#[from] seccompiler::Error),
    #[error("privileges were not dropped: {0}")]
    Verify(String),
}
