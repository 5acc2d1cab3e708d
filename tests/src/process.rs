//! A running `vmm` process with its serial console on stdin/stdout pipes.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bytes a reader thread collected from one of the child's pipes.
#[derive(Default)]
struct Captured {
    bytes: Mutex<Vec<u8>>,
    grew: Condvar,
    /// The pipe reached end of file (or failed): `bytes` is complete.
    closed: Mutex<bool>,
    /// Signalled when `closed` is set (a condvar serves one mutex).
    closed_now: Condvar,
}

impl Captured {
    /// Waits until the pipe is drained, at most until `deadline`.
    fn wait_closed(&self, deadline: Instant) {
        let mut closed = self.closed.lock().unwrap();
        while !*closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            closed = self.closed_now.wait_timeout(closed, left).unwrap().0;
        }
    }
}

fn capture(mut pipe: impl Read + Send + 'static) -> Arc<Captured> {
    let captured = Arc::new(Captured::default());
    let sink = captured.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sink.bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                    sink.grew.notify_all();
                }
            }
        }
        *sink.closed.lock().unwrap() = true;
        sink.closed_now.notify_all();
        sink.grew.notify_all();
    });
    captured
}

pub struct VmmProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Captured>,
    stderr: Arc<Captured>,
}

impl VmmProcess {
    /// Starts `vmm` with `args`; stdin, stdout and stderr are pipes.
    pub fn spawn(args: &[&str]) -> VmmProcess {
        Self::spawn_command(Command::new(crate::vmm_binary()).args(args))
    }

    pub fn spawn_command(cmd: &mut Command) -> VmmProcess {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vmm");
        let stdout = capture(child.stdout.take().expect("stdout pipe"));
        let stderr = capture(child.stderr.take().expect("stderr pipe"));
        VmmProcess {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the guest printed so far (lossy UTF-8).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.stdout.bytes.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.bytes.lock().unwrap()).into_owned()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout` for it (stderr is
    /// collected by another thread); empty if it never comes.
    pub fn stderr_line(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if Instant::now() >= deadline {
                return String::new();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until stdout contains `needle` at or after byte `from`; returns the byte offset
    /// just past it. Panics with the output so far on timeout.
    pub fn wait_for_from(&self, from: usize, needle: &str, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut bytes = self.stdout.bytes.lock().unwrap();
        loop {
            if bytes.len() > from {
                if let Some(pos) = crate::find_bytes(&bytes[from..], needle.as_bytes()) {
                    return from + pos + needle.len();
                }
            }
            let now = Instant::now();
            if now >= deadline {
                drop(bytes);
                panic!(
                    "timed out after {timeout:?} waiting for {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.output(),
                    self.stderr()
                );
            }
            bytes = self
                .stdout
                .grew
                .wait_timeout(bytes, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Waits for `needle` anywhere in stdout.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> usize {
        self.wait_for_from(0, needle, timeout)
    }

    /// Sends a line to the guest's serial console; returns the stdout length before it, so
    /// the reply can be awaited with [`Self::wait_for_from`].
    pub fn send_line(&mut self, line: &str) -> usize {
        let mark = self.stdout.bytes.lock().unwrap().len();
        self.send(format!("{line}\r").as_bytes());
        mark
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to vmm stdin");
        stdin.flush().expect("flush vmm stdin");
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Everything it wrote is read before the caller looks (unless a child it
                // left behind still holds the pipes).
                let drained = Instant::now() + Duration::from_secs(5);
                self.stdout.wait_closed(drained);
                self.stderr.wait_closed(drained);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }
}

impl Drop for VmmProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
