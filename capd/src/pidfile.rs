//! pidfile: `--pidfile FILE`. Refuses to start while the process named in
//! an existing file is alive; replaces a stale file; removed on a clean
//! exit. Created before privileges are dropped, in the directory given.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PidfileError {
    #[error("{path}: darkstat-capd already runs as process {pid}")]
    Running { path: String, pid: i32 },
    #[error("cannot write pidfile {path}: {source}")]
    Io { path: String, source: io::Error },
}

pub struct Pidfile {
    path: PathBuf,
}

fn alive(pid: i32) -> bool {
    // signal 0 checks existence; EPERM means it exists as another user
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

impl Pidfile {
    pub fn create(path: &Path) -> Result<Pidfile, PidfileError> {
        let io_err = |source| PidfileError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Ok(text) = fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if pid > 0 && pid != std::process::id() as i32 && alive(pid) {
                    return Err(PidfileError::Running {
                        path: path.display().to_string(),
                        pid,
                    });
                }
            }
            // stale (or garbage): replace it
            fs::remove_file(path).map_err(io_err)?;
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io_err)?;
        writeln!(f, "{}", std::process::id()).map_err(io_err)?;
        Ok(Pidfile {
            path: path.to_owned(),
        })
    }

    /// Rewrites the file with the current pid (after --detach forked).
    pub fn update(&self) -> Result<(), PidfileError> {
        fs::write(&self.path, format!("{}\n", std::process::id())).map_err(|source| {
            PidfileError::Io {
                path: self.path.display().to_string(),
                source,
            }
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (clean exit). Failing is only logged by the caller.
    pub fn remove(self) -> io::Result<()> {
        fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_live_pid_and_replaces_a_stale_one() {
        let dir = std::env::temp_dir().join(format!("capd-pid-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("capd.pid");
        // pid 1 is alive on every system
        fs::write(&p, "1\n").unwrap();
        assert!(matches!(
            Pidfile::create(&p),
            Err(PidfileError::Running { pid: 1, .. })
        ));
        // a pid that cannot exist
        fs::write(&p, "2147483646\n").unwrap();
        let f = Pidfile::create(&p).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap().trim(),
            std::process::id().to_string()
        );
        f.remove().unwrap();
        assert!(!p.exists());
    }
}
