//! The `qemu.qmp` Python library (what QEMU's own scripts, iotests and many tools use) runs
//! a whole session against the VMM through tests/python/qmp_session.py: connect and negotiate
//! (it sends every message without a newline and enables OOB), query-status, stop and its
//! STOP event, an error reply, an exec-oob command, fd passing with `send_fd_scm`, cont, quit.
//! The same script runs against QEMU when it is installed, which keeps the script honest.
//! Skipped, with a message, when python3 or qemu.qmp is missing (.ci/run installs them).

use std::path::PathBuf;
use std::time::Duration;

use tests::command_line_support::run_with_timeout;
use tests::qmp_harness::{qemu_or_skip, start_qemu, start_vmm, Server};

fn script() -> PathBuf {
    tests::workspace_root().join("tests/python/qmp_session.py")
}

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("python3"))
        .find(|p| p.is_file())
}

/// Runs the session; `None` when it reports that qemu.qmp cannot be imported.
fn run_session(server: &Server) -> Option<String> {
    let python = python()?;
    let r = run_with_timeout(
        &python,
        &[script().to_str().unwrap(), server.qmp.to_str().unwrap()],
        Duration::from_secs(60),
    );
    if r.code == Some(77) {
        eprintln!("SKIP qmp_python: {}", r.stdout.trim());
        return None;
    }
    assert!(
        r.code == Some(0) && r.stdout.contains("session complete"),
        "qemu.qmp session against {} failed ({:?}, timed out: {}):\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- server stderr ---\n{}",
        server.which.name(),
        r.code,
        r.timed_out,
        r.stdout,
        r.stderr,
        server.proc.stderr()
    );
    Some(r.stdout)
}

#[test]
fn qemu_qmp_library_session() {
    if python().is_none() {
        eprintln!("SKIP qmp_python: python3 is not installed");
        return;
    }
    let mut vmm = start_vmm("pyqmp", &["-m", "256", "-smp", "2", "-serial", "stdio"]);
    vmm.proc
        .wait_for(tests::guest_abi::READY, Duration::from_secs(60));
    let Some(out) = run_session(&vmm) else {
        return;
    };
    let status = vmm
        .proc
        .wait_exit(Duration::from_secs(30))
        .expect("vmm exits after quit");
    assert_eq!(status.code(), Some(0), "{out}");
    if let Some(q) = qemu_or_skip("qemu_qmp_library_session") {
        let qemu = start_qemu(&q, "pyqmpq", &["-nodefaults", "-machine", "none"]);
        let theirs = run_session(&qemu).expect("qemu.qmp importable");
        // Same steps, same checks passed (the event timestamps aside).
        let steps = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.starts_with("ok: ") || *l == "session complete")
                .map(str::to_string)
                .collect()
        };
        assert_eq!(steps(&out), steps(&theirs));
    }
}
