//! notify: systemd's readiness protocol (`Type=notify`). READY=1 is sent
//! only once capture is open and privileges are dropped; WATCHDOG=1 from
//! the main loop. The socket is connected before the sandbox, so sending
//! needs no file system access.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Connection to $NOTIFY_SOCKET, or nothing when not run by systemd.
pub struct Notifier {
    sock: Option<UnixDatagram>,
}

impl Notifier {
    /// Connects to $NOTIFY_SOCKET if it is set (a path, or `@name` for an
    /// abstract socket).
    pub fn from_env() -> io::Result<Self> {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(Notifier { sock: None });
        };
        let sock = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        let addr = match bytes.strip_prefix(b"@") {
            Some(name) => SocketAddr::from_abstract_name(name)?,
            None => SocketAddr::from_pathname(&path)?,
        };
        sock.connect_addr(&addr)?;
        Ok(Notifier { sock: Some(sock) })
    }

    fn send(&self, msg: &str) {
        if let Some(s) = &self.sock {
            // A full or gone notify socket must not stop the capture.
            let _ = s.send(msg.as_bytes());
        }
    }

    pub fn ready(&self) {
        self.send("READY=1\nSTATUS=capturing\n");
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1\n");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_ready_and_watchdog_to_the_socket() {
        let dir = std::env::temp_dir().join(format!("capd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let sock = UnixDatagram::unbound().unwrap();
        sock.connect(&path).unwrap();
        let n = Notifier { sock: Some(sock) };
        n.ready();
        n.watchdog();
        let mut buf = [0u8; 64];
        let k = rx.recv(&mut buf).unwrap();
        assert!(buf[..k].starts_with(b"READY=1\n"));
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"WATCHDOG=1\n");
        Notifier { sock: None }.ready();
    }
}
