//! The readline side by side with a real QEMU, when `qemu-system-x86_64` is installed: the
//! recorded transcripts are played again, and random keystrokes go to both. Skipped, with a
//! note, when QEMU is missing or `READLINE_LIVE=0`.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::test_support::{connect, drive, fake_hmp, show, QemuLike, Rng};
use super::transcripts::{CONNECT, RECONNECT, TRANSCRIPTS};
use super::*;

const QEMU: &str = "qemu-system-x86_64";

fn qemu_available() -> bool {
    if std::env::var("READLINE_LIVE").is_ok_and(|v| v == "0") {
        println!("note: READLINE_LIVE=0, live comparison with QEMU skipped");
        return false;
    }
    let ok = Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("note: {QEMU} not installed, live comparison with QEMU skipped");
    }
    ok
}

/// A QEMU with its human monitor on a Unix socket; killed when dropped.
struct LiveQemu {
    child: Child,
    dir: PathBuf,
    sock: Option<UnixStream>,
}

impl LiveQemu {
    fn start() -> LiveQemu {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "readline-live-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("m.sock");
        let child = Command::new(QEMU)
            .args([
                "-machine",
                "none",
                "-nodefaults",
                "-display",
                "none",
                "-monitor",
            ])
            .arg(format!("unix:{},server=on,wait=off", path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn qemu");
        let mut q = LiveQemu {
            child,
            dir,
            sock: None,
        };
        q.connect();
        q
    }

    fn connect(&mut self) {
        self.sock = None;
        let path = self.dir.join("m.sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match UnixStream::connect(&path) {
                Ok(s) => {
                    self.sock = Some(s);
                    return;
                }
                Err(e) if Instant::now() > deadline => panic!("connecting to QEMU: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sock.as_mut().unwrap().write_all(bytes).unwrap();
    }

    /// Reads until `done` holds (or 10 s pass), then whatever follows within `settle`.
    fn read(&mut self, done: impl Fn(&[u8]) -> bool, settle: Duration) -> Vec<u8> {
        let sock = self.sock.as_mut().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut settle_until: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if settle_until.is_none() && (done(&got) || now > deadline) {
                settle_until = Some(now + settle);
            }
            let wait = match settle_until {
                Some(t) if now >= t => return got,
                Some(t) => t - now,
                None => Duration::from_millis(50),
            };
            sock.set_read_timeout(Some(wait)).unwrap();
            match sock.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading from QEMU: {e}"),
            }
        }
    }

    /// Reads what QEMU answers to a chunk we expect to produce `expected`.
    fn read_expecting(&mut self, expected: &[u8]) -> Vec<u8> {
        let len = expected.len();
        let settle = Duration::from_millis(if len == 0 { 15 } else { 3 });
        self.read(|got| got.len() >= len, settle)
    }
}

impl Drop for LiveQemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn readline_live_transcripts_match_qemu() {
    if !qemu_available() {
        return;
    }
    let mut failures = Vec::new();
    for t in TRANSCRIPTS {
        let mut qemu = LiveQemu::start();
        let mut rl = Readline::with_mode(CharMode::Bytes);
        let mut completer = QemuLike::default();
        for (i, &(chunk, _)) in t.steps.iter().enumerate() {
            let ours = if chunk == CONNECT || chunk == RECONNECT {
                if chunk == RECONNECT {
                    qemu.connect();
                }
                connect(&mut rl)
            } else {
                qemu.send(chunk);
                drive(&mut rl, chunk, &mut completer, &mut fake_hmp)
            };
            let live = qemu.read_expecting(&ours);
            if live != ours {
                failures.push(format!(
                    "{} step {i}: sent {}\n  qemu: {}\n  ours: {}",
                    t.name,
                    show(chunk),
                    show(&live),
                    show(&ours)
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Keystrokes that cannot spell a harmful command (no `q`, no `c`, …). Lines they make are
/// mostly unknown commands; whatever a command prints is taken from QEMU as is.
const KEYS: &[&[u8]] = &[
    b"j",
    b"k",
    b"z",
    b" ",
    b"  ",
    b"nb",
    b"inf",
    b"info ",
    b"\t",
    b"\t",
    b"\x7f",
    b"\x08",
    b"\x00",
    b"\x01",
    b"\x02",
    b"\x04",
    b"\x05",
    b"\x06",
    b"\x0b",
    b"\x0c",
    b"\x0e",
    b"\x10",
    b"\x15",
    b"\x17",
    b"\x1b",
    b"[",
    b"O",
    b"~",
    b"1",
    b"3",
    b"4",
    b"5",
    b";",
    b"A",
    b"B",
    b"D",
    b"E",
    b"F",
    b"H",
    b"\x1b[A",
    b"\x1b[B",
    b"\x1b[C",
    b"\x1b[D",
    b"\x1b[E",
    b"\x1b[F",
    b"\x1b[H",
    b"\x1bOH",
    b"\x1bOF",
    b"\x1b[1~",
    b"\x1b[3~",
    b"\x1b[4~",
    b"\x9b",
    b"\x1bb",
    b"\x1b[1;5D",
];
const RAW_KEYS: &[&[u8]] = &[b"\xc3\xa9", b"\xe2\x82\xac", b"\xff", b"\xc3"];

fn live_fuzz(mode: CharMode, seed: u64, steps: usize) {
    let mut qemu = LiveQemu::start();
    let mut rl = Readline::with_mode(mode);
    let greeting = qemu.read(|g| g.ends_with(b"(qemu) "), Duration::from_millis(5));
    assert_eq!(show(&greeting), show(&connect(&mut rl)));
    let mut completer = QemuLike::default();
    let mut rng = Rng::new(seed);
    let mut sent = Vec::new();
    for step in 0..steps {
        // A chunk of 1 to 4 keys, sometimes ending a line.
        let mut chunk = Vec::new();
        for _ in 0..1 + rng.below(4) {
            if mode == CharMode::Bytes && rng.below(12) == 0 {
                chunk.extend_from_slice(rng.pick(RAW_KEYS));
            } else {
                chunk.extend_from_slice(rng.pick(KEYS));
            }
        }
        if rng.below(8) == 0 {
            chunk.push(if rng.below(2) == 0 { b'\r' } else { b'\n' });
        }
        sent.extend_from_slice(&chunk);
        // Our side: echo up to a line, then (opaque) command output and the prompt.
        let mut before_line = Vec::new();
        let mut after_line = None;
        for event in rl.feed(&chunk, &mut completer) {
            match event {
                ReadlineEvent::Output(b) => before_line.extend(b),
                ReadlineEvent::Line(_) => after_line = Some(rl.prompt_after_command()),
            }
        }
        assert!(!rl.has_pending_input(), "a line ends only a chunk");
        qemu.send(&chunk);
        let live = match &after_line {
            None => qemu.read_expecting(&before_line),
            Some(prompt) => qemu.read(
                |got| got.len() > before_line.len() && got.ends_with(prompt),
                Duration::from_millis(5),
            ),
        };
        let ok = match &after_line {
            None => live == before_line,
            Some(prompt) => live.starts_with(&before_line) && live.ends_with(prompt),
        };
        assert!(
            ok,
            "{mode:?} seed {seed} step {step}: sent {}\n  qemu: {}\n  ours: {}{}\n  all input: {}",
            show(&chunk),
            show(&live),
            show(&before_line),
            if after_line.is_some() {
                " …command output… (qemu) "
            } else {
                ""
            },
            show(&sent)
        );
    }
    // Empty the line, then compare the whole history (as typed: raw bytes in byte mode).
    qemu.send(b"\x05\x15");
    let ours = drive(&mut rl, b"\x05\x15", &mut completer, &mut fake_hmp);
    assert_eq!(show(&qemu.read_expecting(&ours)), show(&ours));
    qemu.send(b"info history\r");
    let mut ours = Vec::new();
    for event in rl.feed(b"info history\r", &mut completer) {
        match event {
            ReadlineEvent::Output(b) => ours.extend(b),
            ReadlineEvent::Line(line) => {
                assert_eq!(line, "info history");
                ours.extend(crlf_bytes(&rl.format_history_bytes()));
                ours.extend(rl.prompt_after_command());
            }
        }
    }
    let live = qemu.read_expecting(&ours);
    assert_eq!(show(&live), show(&ours), "{mode:?} seed {seed}: history");
    assert!(
        rl.history().len() > 5,
        "{mode:?} seed {seed}: too few lines entered"
    );
}

#[test]
fn readline_live_random_keys_match_qemu_byte_mode() {
    if !qemu_available() {
        return;
    }
    for seed in [1, 2] {
        live_fuzz(CharMode::Bytes, seed, 300);
    }
}

#[test]
fn readline_live_random_keys_match_qemu_utf8_mode_ascii() {
    if !qemu_available() {
        return;
    }
    live_fuzz(CharMode::Utf8, 3, 300);
}
