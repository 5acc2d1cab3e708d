//! Chardev and monitor configuration, as the command line gives it.

use std::path::PathBuf;

/// Where a character device's bytes go: the subset of QEMU chardev backends we support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChardevBackend {
    Null,
    Stdio,
    File {
        path: PathBuf,
        append: bool,
    },
    /// A unix socket; `server` listens, otherwise connects.
    UnixSocket {
        path: PathBuf,
        server: bool,
        wait: bool,
    },
    Tcp {
        host: String,
        port: u16,
        server: bool,
        wait: bool,
    },
    /// An inherited, already-listening (server) or connected socket (`fd=N`).
    SocketFd {
        fd: i32,
        server: bool,
        wait: bool,
    },
}

/// A character device: an id, a backend, and whether a monitor is multiplexed on it
/// (`mon:stdio`, `mux=on`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChardevConfig {
    pub id: String,
    pub backend: ChardevBackend,
    pub mux: bool,
    /// The option that created it as given (`-qmp unix:...`), for QEMU's message prefixes;
    /// empty for defaults.
    pub location: String,
}

/// The monitor protocol of a `-mon`/`-qmp`/`-monitor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorMode {
    /// QMP (JSON).
    Control,
    /// HMP (the `(qemu)` prompt).
    Readline,
}

/// A monitor bound to a chardev (`-mon chardev=ID,mode=…,pretty=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    pub id: Option<String>,
    pub chardev: String,
    pub mode: MonitorMode,
    pub pretty: bool,
}
