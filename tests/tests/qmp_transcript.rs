//! Replays QEMU 10.0.2's recorded QMP session "vm1" (`tests/reference/qemu-10.0.2-vm1.txt`,
//! raw bytes from QEMU's socket) against `vmm` with the same command line, and compares every
//! reply and every event around it, byte for byte once timestamps, thread ids and host
//! addresses are masked. QEMU ran with no guest OS (SeaBIOS only); `vmm` runs its built-in
//! guest told to ignore the power button, which is the one thing it would otherwise do
//! differently from firmware.
//!
//! The exchanges that differ for a stated reason are listed in [`KNOWN_DIFFERENCES`]; a listed
//! exchange that starts to match fails the test too, so the list stays true.

use std::time::Duration;

use tests::guest_abi::CMDLINE_NO_POWER_BUTTON;
use tests::qmp_client::{is_event, show};
use tests::qmp_harness::{start_vmm, TempDir};

const TRANSCRIPT: &str = include_str!("../reference/qemu-10.0.2-vm1.txt");

/// How long to wait for an event QEMU sent after a reply.
const AFTER_REPLY: Duration = Duration::from_secs(5);

/// Sent bytes (after the `/path/to/` substitution is undone) of the exchanges where `vmm`
/// answers differently, and why.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        r#"{"execute":"query-current-machine"}"#,
        "no S3 here: wakeup-suspend-support is false",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /4xb 0xffff0"}}"#,
        "no firmware: QEMU shows SeaBIOS's reset vector, this machine has RAM there",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /2xg 0xffff0"}}"#,
        "no firmware (SeaBIOS bytes)",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /3i 0xffff0"}}"#,
        "no firmware (SeaBIOS code)",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp /4dh 0xf0000"}}"#,
        "no firmware (SeaBIOS bytes)",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"xp 0xffff0"}}"#,
        "no firmware (SeaBIOS bytes)",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info registers"}}"#,
        "QEMU's vCPU sits at the reset vector under SeaBIOS; ours is in the guest, in 32-bit PVH state",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"help balloon"}}"#,
        "help texts are written in this project's own words",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info version"},"id":"h"}"#,
        "the package string names this project, not Debian's build",
    ),
    (
        r#"{"execute":"human-monitor-command","arguments":{"command-line":"info version","cpu-index":0}}"#,
        "the package string names this project",
    ),
    (
        r#"{"execute":"qom-list-types","arguments":{"abstract":true,"implements":"accel"}}"#,
        "no TCG in this VMM: only kvm-accel",
    ),
    (
        r#"{"execute":"query-dump-guest-memory-capability"}"#,
        "only the ELF format is written",
    ),
    (
        r#"{"execute":"dump-guest-memory","arguments":{"paging":false,"protocol":"file:/path/to/dump.elf"}}"#,
        "QEMU's total includes SeaBIOS's 256 KiB ROM; this machine has no firmware",
    ),
    (
        r#"{"execute":"query-dump"}"#,
        "dump totals: no firmware ROM here (the first query-dump, before any dump, matches)",
    ),
    (
        r#"{"execute":"dump-guest-memory","arguments":{"paging":false,"protocol":"file:/path/to/dump2.elf","detach":true}}"#,
        "dump totals in DUMP_COMPLETED (no firmware ROM)",
    ),
    (
        r#"{"execute":"system_reset"}"#,
        "no firmware: SeaBIOS resets the machine once more as it boots (a guest RESET event)",
    ),
];

/// One step of the transcript: what was sent and what QEMU sent back before the next step.
struct Exchange {
    sent: Vec<u8>,
    /// Events, the reply, later events; `true` when the line was cut in the transcript
    /// (compare a prefix).
    received: Vec<(Vec<u8>, bool)>,
}

/// Decodes a Python bytes literal `b'...'`; also says whether it was cut (no closing quote).
fn bytes_literal(text: &str) -> (Vec<u8>, bool) {
    let body = text
        .strip_prefix("b'")
        .or_else(|| text.strip_prefix("b\""))
        .expect("a bytes literal");
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    let quote = if text.starts_with("b'") { '\'' } else { '"' };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push(b'\n'),
                Some('r') => out.push(b'\r'),
                Some('t') => out.push(b'\t'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).expect("\\x escape"));
                }
                Some(other) => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => return (out, true),
            },
            c if c == quote => return (out, false),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    (out, true)
}

fn split_messages(bytes: &[u8], cut: bool) -> Vec<(Vec<u8>, bool)> {
    let mut parts: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .filter(|l| !l.is_empty())
        .collect();
    let last = parts.pop();
    let mut out: Vec<(Vec<u8>, bool)> = parts.into_iter().map(|p| (p, false)).collect();
    if let Some(l) = last {
        out.push((l, cut));
    }
    out
}

fn exchanges() -> Vec<Exchange> {
    let mut out: Vec<Exchange> = Vec::new();
    for line in TRANSCRIPT.lines() {
        if let Some(sent) = line.strip_prefix("-> ") {
            out.push(Exchange {
                sent: bytes_literal(sent).0,
                received: Vec::new(),
            });
        } else if let Some(recv) = line.strip_prefix("<- ") {
            let (bytes, cut) = bytes_literal(recv);
            if let Some(last) = out.last_mut() {
                last.received.extend(split_messages(&bytes, cut));
            }
        }
    }
    out
}

/// Replaces the digits after each `key` with `#`.
fn mask_digits(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_hexdigit() && c != 'x')
            .unwrap_or(rest.len());
        out.push('#');
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn mask(msg: &[u8], dir: &str) -> String {
    let msg = msg.strip_suffix(b"\r\n").unwrap_or(msg);
    let mut t = String::from_utf8_lossy(msg).replace(dir, "/path/to/");
    for key in [
        "\"seconds\": ",
        "\"microseconds\": ",
        "\"thread-id\": ",
        "thread_id=",
        ") is 0x",
    ] {
        t = mask_digits(&t, key);
    }
    t
}

#[test]
fn qemu_vm1_session_replays_byte_for_byte() {
    let dir = TempDir::new("transcript-files");
    let files = format!("{}/", dir.path().display());
    let guest = tests::builtin_guest_file();
    let guest = guest.to_str().expect("utf-8 path");
    let vm = start_vmm(
        "transcript",
        &[
            "-nodefaults",
            "-machine",
            "pc,accel=kvm",
            "-m",
            "512",
            "-smp",
            "2,maxcpus=4",
            "-cpu",
            "qemu64",
            "-name",
            "guest=probe1,debug-threads=on",
            "-uuid",
            "8b1e2a4c-1111-2222-3333-444455556666",
            "-device",
            "virtio-balloon-pci,id=balloon0",
            "-S",
            "-no-shutdown",
            "-kernel",
            guest,
            "-append",
            CMDLINE_NO_POWER_BUTTON,
        ],
    );
    let mut c = vm.connect();
    c.greeting();
    let mut problems = Vec::new();
    let mut known_seen = vec![false; KNOWN_DIFFERENCES.len()];
    for e in exchanges() {
        let sent_text = String::from_utf8_lossy(&e.sent).trim_end().to_string();
        let sent = String::from_utf8_lossy(&e.sent).replace("/path/to/", &files);
        c.send(sent.as_bytes());
        let mut got = Vec::new();
        loop {
            match c.read_message_timeout(Duration::from_secs(30)) {
                Ok(m) => {
                    let event = is_event(&m);
                    got.push(m);
                    if !event {
                        break;
                    }
                }
                Err(err) => {
                    problems.push(format!("{sent_text}: no reply: {err}"));
                    break;
                }
            }
        }
        // Events QEMU sent after the reply but before the next command (a detached dump's
        // end, a firmware reset) are awaited too: the next command depends on them.
        while got.len() < e.received.len() {
            match c.read_message_timeout(AFTER_REPLY) {
                Ok(m) => got.push(m),
                Err(_) => break,
            }
        }
        let matches = got.len() == e.received.len()
            && got.iter().zip(&e.received).all(|(ours, (qemu, cut))| {
                let (ours, qemu) = (mask(ours, &files), mask(qemu, &files));
                if *cut {
                    ours.starts_with(&qemu)
                } else {
                    ours == qemu
                }
            });
        let known = KNOWN_DIFFERENCES.iter().position(|(s, _)| *s == sent_text);
        match (matches, known) {
            (true, None) => {}
            (false, Some(i)) => known_seen[i] = true,
            (true, Some(i)) => {
                // The first query-dump (before any dump) matches; the later ones are the
                // known difference.
                if !sent_text.contains("query-dump\"") {
                    problems.push(format!(
                        "{sent_text}: now matches QEMU; drop it from KNOWN_DIFFERENCES ({})",
                        KNOWN_DIFFERENCES[i].1
                    ));
                }
            }
            (false, None) => problems.push(format!(
                "{sent_text}\n  QEMU: {}\n  ours: {}",
                e.received
                    .iter()
                    .map(|(m, _)| show(m))
                    .collect::<Vec<_>>()
                    .join(" | "),
                got.iter().map(|m| show(m)).collect::<Vec<_>>().join(" | ")
            )),
        }
    }
    for (i, seen) in known_seen.iter().enumerate() {
        if !seen {
            problems.push(format!(
                "known difference never differed: {}",
                KNOWN_DIFFERENCES[i].0
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
