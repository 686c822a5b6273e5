//! launch: the one-command mode. capd starts darkstat-webd (the binary next
//! to its own executable) as a separate process, passes the web options
//! through, reports if it dies, and stops it on exit. The systemd units
//! use `--no-web` and run webd as its own service instead.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot find darkstat-webd next to {exe}: {source} (use --no-web to run without the dashboard)")]
    NotFound { exe: String, source: io::Error },
    #[error("cannot start {path}: {source}")]
    Spawn { path: String, source: io::Error },
    #[error("cannot create the socket directory {path}: {source}")]
    SocketDir { path: String, source: io::Error },
}

/// The publishing socket's path: `--socket`, else /run/darkstat-rs as root,
/// else a private directory (0700) under $XDG_RUNTIME_DIR or /tmp.
pub fn socket_path(explicit: Option<&Path>) -> Result<PathBuf, LaunchError> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    let (dir, mode) = if nix::unistd::geteuid().is_root() {
        (PathBuf::from("/run/darkstat-rs"), 0o755)
    } else {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        (
            base.join(format!("darkstat-rs-{}", std::process::id())),
            0o700,
        )
    };
    let err = |source| LaunchError::SocketDir {
        path: dir.display().to_string(),
        source,
    };
    match fs::DirBuilder::new().mode(mode).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(err)?;
        }
        Err(e) => return Err(err(e)),
    }
    Ok(dir.join("capd.sock"))
}

/// The darkstat-webd binary installed beside this one.
pub fn webd_path() -> Result<PathBuf, LaunchError> {
    let exe = std::env::current_exe().map_err(|source| LaunchError::NotFound {
        exe: "darkstat-capd".into(),
        source,
    })?;
    let p = exe.with_file_name("darkstat-webd");
    match fs::metadata(&p) {
        Ok(m) if m.is_file() => Ok(p),
        Ok(_) => Err(LaunchError::NotFound {
            exe: exe.display().to_string(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file"),
        }),
        Err(source) => Err(LaunchError::NotFound {
            exe: exe.display().to_string(),
            source,
        }),
    }
}

/// A running webd child.
pub struct WebChild {
    path: PathBuf,
    args: Vec<OsString>,
    child: Option<Child>,
}

impl WebChild {
    pub fn start(path: PathBuf, args: Vec<OsString>) -> Result<Self, LaunchError> {
        let mut w = WebChild {
            path,
            args,
            child: None,
        };
        w.child = Some(w.spawn()?);
        Ok(w)
    }

    fn spawn(&self) -> Result<Child, LaunchError> {
        Command::new(&self.path)
            .args(&self.args)
            .spawn()
            .map_err(|source| LaunchError::Spawn {
                path: self.path.display().to_string(),
                source,
            })
    }

    /// Called once a tick: notices a webd that exited and says so once.
    /// capd does not start a new one: after its privilege drop it can no
    /// longer execute programs (seccomp, Landlock); the systemd units
    /// restart each process on its own.
    pub fn check(&mut self) -> Option<String> {
        let c = self.child.as_mut()?;
        match c.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => {
                self.child = None;
                Some(format!(
                    "darkstat-webd exited ({status}); the dashboard is down until it is started again (darkstat-webd --socket ...) or capd is restarted"
                ))
            }
            Err(e) => Some(format!("cannot check on darkstat-webd: {e}")),
        }
    }

    /// Asks webd to stop (SIGTERM) and waits up to 3 s. A webd that has
    /// dropped to another user cannot be signalled by an unprivileged capd:
    /// it ends by itself when capd exits (it is started with
    /// --exit-with-parent), so this never waits longer.
    pub fn stop(mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(c.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.try_wait();
    }
}
