//! Starting the `vmm` binary and the reference QEMU with QMP sockets for the `qmp_*` tests:
//! a private temporary directory per test, socket paths inside it, and the processes killed
//! when the test ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::command_line_support::reference_qemu;
use crate::process::VmmProcess;
use crate::qmp_client::QmpClient;

/// A directory of its own for one test, removed at the end.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        // Unix socket paths are limited to 107 bytes: keep this short.
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(12)
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "qmpt-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test's temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which program a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    Vmm,
    Qemu,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Vmm => "vmm",
            Impl::Qemu => "qemu",
        }
    }
}

/// The reference QEMU, or `None` after printing why the comparison half of `test` is skipped.
pub fn qemu_or_skip(test: &str) -> Option<PathBuf> {
    match reference_qemu() {
        Ok(q) => Some(q),
        Err(why) => {
            eprintln!("SKIP (comparison with QEMU) in {test}: {why}");
            None
        }
    }
}

/// A running program with one QMP socket (more can be added by the caller's arguments).
pub struct Server {
    pub which: Impl,
    pub proc: VmmProcess,
    pub qmp: PathBuf,
    pub dir: TempDir,
}

impl Server {
    /// Connects a client to the main QMP socket (greeting not read).
    pub fn connect(&self) -> QmpClient {
        let mut c = connect(&self.qmp);
        c.qemu_startup_race = self.which == Impl::Qemu;
        c
    }

    /// Connects, reads the greeting and negotiates.
    pub fn client(&self) -> QmpClient {
        let mut c = self.connect();
        c.negotiate();
        c
    }
}

pub fn connect(path: &Path) -> QmpClient {
    QmpClient::connect_unix(path, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("connect to {}: {e}", path.display()))
}

/// The argument of `-qmp` for a unix socket server that does not wait.
pub fn qmp_arg(path: &Path) -> String {
    format!("unix:{},server=on,wait=off", path.display())
}

/// `start_vmm` arguments for the built-in guest with 512 MiB and a balloon (`balloon0`).
pub const BALLOON_GUEST: &[&str] = &[
    "-m",
    "512",
    "-serial",
    "stdio",
    "-device",
    "virtio-balloon-pci,id=balloon0",
];

/// Starts `vmm` with a QMP socket `qmp.sock` in a fresh temp dir, `-display none`, and
/// `extra` (which should choose `-serial`; stdio is piped and captured).
pub fn start_vmm(tag: &str, extra: &[&str]) -> Server {
    let dir = TempDir::new(tag);
    let qmp = dir.join("qmp.sock");
    let mut args: Vec<String> = vec!["-display".into(), "none".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["-qmp".into(), qmp_arg(&qmp)]);
    let mut cmd = Command::new(crate::vmm_binary());
    cmd.args(&args);
    let proc = VmmProcess::spawn_command(&mut cmd);
    Server {
        which: Impl::Vmm,
        proc,
        qmp,
        dir,
    }
}

/// Starts the reference QEMU the same way (its binary from [`qemu_or_skip`]).
pub fn start_qemu(qemu: &Path, tag: &str, extra: &[&str]) -> Server {
    let dir = TempDir::new(tag);
    let qmp = dir.join("qmp.sock");
    let mut args: Vec<String> = vec!["-display".into(), "none".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["-qmp".into(), qmp_arg(&qmp)]);
    let mut cmd = Command::new(qemu);
    cmd.args(&args);
    let proc = VmmProcess::spawn_command(&mut cmd);
    Server {
        which: Impl::Qemu,
        proc,
        qmp,
        dir,
    }
}

/// The protocol-test machine: QEMU's qmp-test runs `-nodefaults -machine none`; the VMM runs
/// the same arguments (it accepts them) with no serial port.
pub const PROTOCOL_ARGS: &[&str] = &["-nodefaults", "-machine", "none"];

/// Starts either program with the protocol-test machine.
pub fn start_protocol(which: Impl, qemu: Option<&Path>, tag: &str) -> Server {
    match which {
        Impl::Vmm => start_vmm(tag, PROTOCOL_ARGS),
        Impl::Qemu => start_qemu(qemu.expect("QEMU path"), tag, PROTOCOL_ARGS),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}
