//! Helpers for `tests/tests/command_line.rs`: run a program with arguments and a deadline,
//! find the reference QEMU.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Exit status; `None` if killed by a signal (or by us at the deadline).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The program was still running at the deadline and was killed.
    pub timed_out: bool,
}

/// Runs `program args` with stdin from /dev/null, killing it after `timeout`.
pub fn run_with_timeout(program: &Path, args: &[&str], timeout: Duration) -> RunResult {
    run_with_input(program, args, None, timeout)
}

/// Runs `program args` with `input` on stdin (then end of file; /dev/null if `None`), killing
/// it after `timeout`: e.g. `quit` for `-monitor stdio`, to stop a VM that started.
pub fn run_with_input(
    program: &Path,
    args: &[&str],
    input: Option<&str>,
    timeout: Duration,
) -> RunResult {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    if let (Some(mut pipe), Some(text)) = (child.stdin.take(), input) {
        // A program that exits before reading its input is no error here.
        let _ = pipe.write_all(text.as_bytes());
    }
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for the killed child");
            }
            Err(e) => panic!("waiting for {}: {e}", program.display()),
        }
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    RunResult {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    }
}

/// The reference `qemu-system-x86_64` if it is on `PATH` and is QEMU 10.0.x (the version whose
/// messages the tests record); otherwise why not.
pub fn reference_qemu() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(qemu) = std::env::split_paths(&path)
        .map(|dir| dir.join("qemu-system-x86_64"))
        .find(|p| p.is_file())
    else {
        return Err("qemu-system-x86_64 is not installed".to_string());
    };
    let version = run_with_timeout(&qemu, &["-version"], Duration::from_secs(10));
    let first = version
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if !first.starts_with("QEMU emulator version 10.0.") {
        return Err(format!("{} is not QEMU 10.0 ({first})", qemu.display()));
    }
    Ok(qemu)
}

/// QEMU's stderr as `vmm` prints it: the program name substituted.
pub fn as_vmm(qemu_stderr: &str) -> String {
    qemu_stderr.replace("qemu-system-x86_64: ", "vmm: ")
}
