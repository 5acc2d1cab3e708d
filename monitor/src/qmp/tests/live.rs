//! The same bytes sent to a real QEMU (`qemu-system-x86_64 -nodefaults -machine none`) and
//! to an in-memory session with the fake machine: the outputs must be equal, byte for byte
//! (event timestamps zeroed). Skipped, with a note, when QEMU is not installed.

use super::harness::{zero_timestamps, Client, Rng};
use crate::qmp::SessionConfig;
use qapi::types::VersionInfo;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-system-x86_64";
/// How long QEMU may take to send what we expect before the step fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

struct Qemu {
    child: Child,
    dir: PathBuf,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn qemu_installed() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts QEMU with one QMP monitor on a fresh socket and connects to it.
fn start(pretty: bool, tag: &str) -> (Qemu, UnixStream) {
    let dir = std::env::temp_dir().join(format!("qmp-live-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket = dir.join("qmp.sock");
    let mon = if pretty {
        "chardev=qmp,mode=control,pretty=on"
    } else {
        "chardev=qmp,mode=control"
    };
    let child = Command::new(QEMU)
        .args([
            "-nodefaults",
            "-machine",
            "none",
            "-display",
            "none",
            "-chardev",
        ])
        .arg(format!(
            "socket,id=qmp,path={},server=on,wait=off",
            socket.display()
        ))
        .args(["-mon", mon])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn qemu");
    let qemu = Qemu { child, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(stream) = UnixStream::connect(&socket) {
            stream
                .set_read_timeout(Some(Duration::from_millis(50)))
                .expect("read timeout");
            return (qemu, stream);
        }
        assert!(
            Instant::now() < deadline,
            "QEMU's QMP socket did not show up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads until `lines` line ends have come (or the step times out).
fn read_lines(stream: &mut UnixStream, lines: usize, timeout: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut seen = 0;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 65536];
    while seen < lines && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Count as it comes: replies can be megabytes (deep pretty ids).
                let from = got.len().saturating_sub(1);
                got.extend_from_slice(&buf[..n]);
                seen += count_lines(&got[from..]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("reading from QEMU: {e}"),
        }
    }
    got
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.windows(2).filter(|w| w == b"\r\n").count()
}

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Runs `steps` against QEMU and the session; returns how many steps were compared.
fn compare(config: SessionConfig, tag: &str, steps: &[Vec<u8>]) -> usize {
    let (_qemu, mut stream) = start(config.pretty, tag);
    let (greeting, version) = read_greeting(&mut stream);
    let mut client = Client::with_version(config, version.clone());
    let mut session_greeting = crate::qmp::QmpSession::new(config);
    assert_eq!(
        show(&session_greeting.greeting(&version)),
        show(&greeting),
        "greeting"
    );
    session_greeting.take_output();
    for (i, step) in steps.iter().enumerate() {
        let ours = zero_timestamps(&String::from_utf8_lossy(&client.send_bytes(step)));
        stream.write_all(step).expect("write to QEMU");
        let theirs = read_lines(&mut stream, count_lines(ours.as_bytes()), STEP_TIMEOUT);
        let theirs = zero_timestamps(&String::from_utf8_lossy(&theirs));
        assert_eq!(
            show(ours.as_bytes()),
            show(theirs.as_bytes()),
            "{tag} step {i}: {}",
            show(step)
        );
    }
    // Anything QEMU sent beyond what we did shows up here.
    let rest = read_lines(&mut stream, usize::MAX, Duration::from_millis(300));
    assert_eq!(show(&rest), "", "{tag}: QEMU sent more");
    steps.len()
}

/// QEMU's greeting, and the version in it, so that our greeting and query-version can
/// match. (A pretty greeting spans lines: read until it parses.)
fn read_greeting(stream: &mut UnixStream) -> (Vec<u8>, VersionInfo) {
    let mut greeting = Vec::new();
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let lines = count_lines(&greeting) + 1;
        greeting.extend(read_lines(stream, 1, deadline - Instant::now()));
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&greeting) {
            let version = serde_json::from_value(value["QMP"]["version"].clone())
                .expect("the greeting has a VersionInfo");
            return (greeting, version);
        }
        assert!(
            Instant::now() < deadline && count_lines(&greeting) >= lines,
            "no greeting from QEMU: {}",
            show(&greeting)
        );
    }
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// qmp-test's test_malformed(), each lexical case followed by the recovery probe.
fn malformed() -> Vec<Vec<u8>> {
    let mut steps = Vec::new();
    for raw in [
        &b"{]\n"[..],
        b"{\xff",
        b"{\x01",
        b"{'bad \xff",
        b"{'execute': 'nonexistent', 'id':'\n",
        b"%p",
    ] {
        steps.push(raw.to_vec());
        steps.push(b("{ 'execute': 'no-such-cmd' }"));
    }
    for s in [
        "null\n",
        "{}",
        "{ 'execute': true }",
        "{ 'execute': 'no-such-cmd', 'arguments': [] }",
        "{ 'execute': 'no-such-cmd', 'extra': true }",
    ] {
        steps.push(b(s));
    }
    steps
}

fn negotiation(oob: bool) -> Vec<Vec<u8>> {
    let mut steps = vec![
        b("{\"execute\":\"query-version\"}\n"),
        b("{\"execute\":\"query-version\",\"id\":1}\n"),
        b("{\"execute\":\"query-version\",\"arguments\":{\"x\":1},\"id\":2}"),
        b("{\"exec-oob\":\"qmp_capabilities\",\"id\":3}"),
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"}}"),
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}"),
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"bogus\":1},\"id\":4}"),
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{},\"extra\":1}"),
    ];
    steps.extend(malformed());
    steps.push(if oob {
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}")
    } else {
        b("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]}}")
    });
    steps
}

/// Section 1.5 and the t1/t2 transcripts, in command mode.
fn command_mode() -> Vec<Vec<u8>> {
    let mut steps: Vec<Vec<u8>> = [
        "{\"execute\":\"qmp_capabilities\",\"id\":\"x\"}",
        "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}",
        "{\"execute\":\"query-version\",\"id\":{\"a\":[1,2]}}\n",
        "{\"execute\":\"query-name\",\"id\":\"cookie#1\"}",
        "{\"execute\":\"no-such-cmd\",\"id\":5}\n",
        "{]\n",
        "{\"execute\": }\n",
        "{\"execute\" \"query-name\"}\n",
        "{\"execute\":\"query-name\" \"id\": 1}\n",
        "{1: 2}\n",
        "{\"execute\":\"query-name\",}\n",
        "[1,]\n",
        "tru\n",
        "nul\n",
        "{\"execute\":\"query-name\", \"id\": \"\\x\"}\n",
        "{\"execute\":\"query-name\", \"id\": \"\\ud800\"}\n",
        "{\"execute\":\"query-name\", \"id\": \"tab\there\"}\n",
        "{\"execute\":\"query-name\", \"id\": 01}\n",
        "%%p",
        "\n",
        "null",
        "\n",
        "42",
        "\n",
        "42 ",
        "\"str\"",
        "true\n",
        "[1,2]\n",
        "{}\n",
        "{'execute': true}\n",
        "{'execute': 'no-such-cmd', 'arguments': []}\n",
        "{\"execute\":\"query-name\",\"arguments\":null}\n",
        "{'execute': 'no-such-cmd', 'extra': true}\n",
        "{'execute': 'query-name', 'extra': true, 'id': 7}\n",
        "{'id': 'err-2'}\n",
        "{\"exec-oob\":\"query-name\",\"id\":1}\n",
        "{'exec-oob': 'query-cpus-fast', 'id': 9}\n",
        "{'exec-oob': 'migrate-pause', 'id': 10}\n",
        "{'execute': 'query-name', 'exec-oob': 'query-name'}\n",
        "{'execute': 'human-monitor-command', 'id': 2}\n",
        "{'execute': 'human-monitor-command', 'arguments': {'command-line': 'info version', 'bogus': 1}}\n",
        "{'execute': 'human-monitor-command', 'arguments': {'command-line': 5}}\n",
        "{'execute': 'qom-set', 'arguments': {'path': '/machine', 'property': 'rtc-time'}}\n",
        "{\"execute\":\"balloon\", \"arguments\": {\"value\": \"x\"}}\n",
        "{\"execute\":\"query-name\", \"arguments\": {}, \"arguments\": {\"x\":1}}\n",
        "{'execute': 'query-status'}\n",
        "{'execute': 'stop'}\n",
        "{'execute': 'stop', 'id': 's2'}\n",
        "{'execute': 'query-status'}\n",
        "{'execute': 'cont'}\n",
        "{\"execute\":\"query-cpus-fast\"}",
        "{\"execute\":\"query-name\"}\r\n{\"execute\":\"query-name\",\"id\":1}{\"execute\":\"query-name\",\"id\":2}",
        "{\"execute\":\"query-name\", \"id\": \"\\u00e9\\u4e2d\"}\n",
        "{\"execute\":\"query-name\", \"id\": \"\u{e9}\"}\n",
        "{\"execute\":\"query-name\", \"id\": 1.5e3}\n",
        "{\"execute\":\"query-name\", \"id\": 18446744073709551615}\n",
        "{\"execute\":\"query-name\", \"id\": -1}\n",
        "{\"execute\":\"query-name\", \"id\": true}\n",
        "{\"execute\":\"query-name\", \"id\": null}\n",
        "{\"execute\":\"query-name\", \"id\": 1e400}\n",
        "{\"execute\":\"query-name\", \"id\": 123456789012345678901234567890}\n",
        "{\"execute\":\"query-name\", \"id\": \"a\\u0000b\"}\n",
        "{\"execute\":\"query-name\", \"id\": [1, {\"b\": [], \"a\": {}, \"micro\": 1, \"minor\": 2}, []]}",
        "{\"execute\":\"query-name\"} }\n",
        "{\"execute\":\"query-name\"} ]\n",
    ]
    .iter()
    .map(|s| b(s))
    .collect();
    steps.push(b"\x00".to_vec());
    steps.push(b("{\"execute\":\"query-name\", \"id\": \"after-nul\"}\n"));
    steps.push(format!("{}{}", "[".repeat(1025), "]".repeat(1025)).into_bytes());
    steps.push(
        format!(
            "{{\"execute\":\"query-name\",\"id\":{}{}}}",
            "[".repeat(1023),
            "]".repeat(1023)
        )
        .into_bytes(),
    );
    let burst: String = (3..13)
        .map(|i| format!("{{\"execute\":\"query-status\",\"id\":{i}}}"))
        .collect();
    steps.push(b(&burst));
    steps.extend(malformed());
    steps
}

/// Requests of random shape: which member QEMU complains about first, and the checks
/// after it, depend on QDict order and on the order of QEMU's checks.
fn random_shapes(rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    let names = [
        "\"query-name\"",
        "\"query-version\"",
        "\"no-such-cmd\"",
        "\"migrate-pause\"",
        "\"query-cpus-fast\"",
        "\"qmp_capabilities\"",
        "5",
        "null",
        "{}",
    ];
    let arguments = [
        "{}",
        "[]",
        "null",
        "{\"bogus\": 1}",
        "\"x\"",
        "{\"enable\": []}",
    ];
    let ids = ["1", "\"a\"", "null", "[1]", "{\"k\": 2}"];
    let extra = [
        "a", "b", "c", "extra", "zz", "foo", "bar", "x-y", "ID", "Execute", "exec", "argument",
        "ids", "q", "w",
    ];
    (0..count)
        .map(|_| {
            let mut members: Vec<String> = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            for _ in 0..=rng.below(5) {
                let key = match rng.below(8) {
                    0 | 1 => "execute",
                    2 => "exec-oob",
                    3 => "arguments",
                    4 => "id",
                    _ => *rng.pick(&extra),
                };
                if keys.contains(&key) {
                    continue;
                }
                keys.push(key);
                let value = match key {
                    "execute" | "exec-oob" => *rng.pick(&names),
                    "arguments" => *rng.pick(&arguments),
                    "id" => *rng.pick(&ids),
                    _ => "true",
                };
                members.push(format!("\"{key}\": {value}"));
            }
            format!("{{{}}}", members.join(", ")).into_bytes()
        })
        .collect()
}

#[test]
fn same_bytes_as_qemu() {
    if !qemu_installed() {
        eprintln!("skipping the live QEMU comparison: {QEMU} is not installed");
        return;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let runs = [
        ("compact-oob", false, true),
        ("compact", false, false),
        ("pretty-oob", true, true),
    ];
    let mut compared = 0;
    for (tag, pretty, oob) in runs {
        let mut steps = random_shapes(&mut rng, 100);
        steps.extend(negotiation(oob));
        steps.extend(command_mode());
        steps.extend(random_shapes(&mut rng, 1000));
        let config = SessionConfig {
            pretty,
            oob_offered: true,
        };
        compared += compare(config, tag, &steps);
    }
    eprintln!("live QEMU comparison: {compared} steps, identical bytes");
}
