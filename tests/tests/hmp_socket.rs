//! The human monitor on a socket (`-monitor unix:…`), byte for byte: command output has QEMU's
//! `\r\n` line ends, not `\r\r\n` (the bytes below are QEMU 10.0.2's for the same keystrokes).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use tests::guest_abi::READY;
use tests::process::VmmProcess;
use tests::qmp_harness::TempDir;

const PROMPT: &[u8] = b"(qemu) ";

/// Reads until the buffer ends with the prompt.
fn until_prompt(s: &mut UnixStream) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(PROMPT) {
        assert!(Instant::now() < deadline, "no prompt: {out:?}");
        let n = s.read(&mut buf).expect("read the monitor");
        assert!(n > 0, "monitor closed: {out:?}");
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Boots the guest with the human monitor on a unix socket server; (dir, socket, process).
fn boot(tag: &str) -> (TempDir, std::path::PathBuf, VmmProcess) {
    let dir = TempDir::new(tag);
    let sock = dir.join("hmp.sock");
    let vm = VmmProcess::spawn(&[
        "-m",
        "64",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        &format!("unix:{},server=on,wait=off", sock.display()),
    ]);
    vm.wait_for(READY, Duration::from_secs(60));
    (dir, sock, vm)
}

/// What readline echoes while `text` is typed one byte at a time (QEMU redraws the line).
fn echo(text: &str) -> String {
    let mut out = String::new();
    for i in 1..=text.len() {
        out.push_str(&text[..i]);
        out.push_str("\x1b[K");
        if i < text.len() {
            out.push_str(&"\x1b[D".repeat(i));
        }
    }
    out
}

#[test]
fn command_output_lines_end_in_crlf() {
    let (_dir, sock, _vm) = boot("hmpsock");
    let mut s = UnixStream::connect(&sock).expect("connect the monitor");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set a read timeout");
    let greeting = until_prompt(&mut s);
    assert_eq!(
        greeting,
        b"QEMU 10.0.2 monitor - type 'help' for more information\r\n(qemu) "
    );

    s.write_all(b"info status\r").expect("type a command");
    let want = format!("{}\r\nVM status: running\r\n(qemu) ", echo("info status"));
    assert_eq!(String::from_utf8_lossy(&until_prompt(&mut s)), want);

    // Several lines: each ends in exactly one \r\n.
    s.write_all(b"xp /4gx 0x301000\r").expect("type a command");
    let want = format!(
        "{}\r\n0000000000301000: 0x0123456789abcdef 0xfedcba9876543210\r\n\
         0000000000301010: 0x1122334455667788 0x8877665544332211\r\n(qemu) ",
        echo("xp /4gx 0x301000")
    );
    assert_eq!(String::from_utf8_lossy(&until_prompt(&mut s)), want);

    // An error from the command.
    s.write_all(b"info balloon\r").expect("type a command");
    let want = format!(
        "{}\r\nError: No balloon device has been activated\r\n(qemu) ",
        echo("info balloon")
    );
    assert_eq!(String::from_utf8_lossy(&until_prompt(&mut s)), want);
}

/// `info history` lists the session's lines, the one just typed last; the history outlives a
/// client, as QEMU keeps one readline per monitor (a repeated line moves to the end). The bytes
/// are QEMU 10.0.2's for the same keystrokes.
#[test]
fn info_history_survives_a_reconnect() {
    let (_dir, sock, _vm) = boot("hmphist");
    let history = format!(
        "{}\r\n0: 'info status'\r\n1: 'info history'\r\n(qemu) ",
        echo("info history")
    );
    let connect = || {
        let mut s = UnixStream::connect(&sock).expect("connect the monitor");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout");
        until_prompt(&mut s);
        s
    };
    let mut s = connect();
    s.write_all(b"info status\r").expect("type a command");
    until_prompt(&mut s);
    s.write_all(b"info history\r").expect("type a command");
    assert_eq!(String::from_utf8_lossy(&until_prompt(&mut s)), history);
    drop(s);
    let mut s = connect();
    s.write_all(b"info history\r").expect("type a command");
    assert_eq!(String::from_utf8_lossy(&until_prompt(&mut s)), history);
}
