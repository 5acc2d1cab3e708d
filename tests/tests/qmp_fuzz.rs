//! Bounded random input over a real QMP socket (fixed seeds, xorshift, ~20k messages, a few
//! seconds): the VMM must never crash or hang, must give every complete message exactly one
//! reply (with its id, in order), must write only well-formed `\r\n`-terminated objects, and
//! after `\x01` (the resynchronisation qmp-spec prescribes) a valid command must still work.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::qmp_client::{mask, show, QmpClient};
use tests::qmp_harness::{qemu_or_skip, start_protocol, start_vmm, Impl, Server};

/// The fixed seed, or `QMP_FUZZ_SEED` (decimal or 0x-hex) to explore others.
fn seed(fixed: u64) -> u64 {
    match std::env::var("QMP_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            let v = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            let v = v.expect("QMP_FUZZ_SEED is a number");
            eprintln!("QMP_FUZZ_SEED={v:#x} (instead of {fixed:#x})");
            v ^ fixed
        }
        Err(_) => fixed,
    }
}

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Read-only commands: none of them changes the VM or the connection, whatever arguments or
/// ids come with them.
const COMMANDS: &[&str] = &[
    "query-status",
    "query-name",
    "query-version",
    "query-kvm",
    "query-target",
    "query-uuid",
    "query-cpus-fast",
    "query-memory-size-summary",
    "query-current-machine",
    "query-chardev",
    "query-fdsets",
    "query-hotpluggable-cpus",
    "qom-list",
    "qom-get",
    "no-such-command",
    "qmp_capabilities",
];

/// Anything that could stop, reset or end the VM or this connection if a mutation produced
/// it; generated input containing one of these is dropped.
const FORBIDDEN: &[&str] = &[
    "quit",
    "stop",
    "cont",
    "system_",
    "memsave",
    "balloon",
    "getfd",
    "add-fd",
    "remove-fd",
    "closefd",
    "migrate",
    "yank",
    "human",
    "qom-set",
    "screendump",
    "dump",
];

fn forbidden(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    FORBIDDEN.iter().any(|f| text.contains(f))
}

fn json_string(rng: &mut Rng) -> String {
    let mut s = String::from("\"");
    for _ in 0..rng.below(12) {
        match rng.below(10) {
            0 => s.push_str("\\\""),
            1 => s.push_str("\\\\"),
            2 => {
                let escape: &&str = rng.pick(&["\\n", "\\t", "\\r", "\\b", "\\f", "\\/"]);
                s.push_str(escape)
            }
            3 => s.push_str(&format!("\\u{:04x}", rng.below(0xd800))),
            4 => s.push(*rng.pick(&['é', '中', '€', '😀', 'ß'])),
            _ => s.push((b'a' + rng.below(26) as u8) as char),
        }
    }
    s.push('"');
    s
}

fn json_value(rng: &mut Rng, depth: u32) -> String {
    let kind = if depth > 3 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match kind {
        0 => json_string(rng),
        1 => (rng.next() as i64 >> rng.below(60)).to_string(),
        2 => format!("{}.{}", rng.below(1000), rng.below(1000)),
        3 => rng.pick(&["true", "false", "null"]).to_string(),
        4 => rng.below(100_000).to_string(),
        5 => {
            let items: Vec<String> = (0..rng.below(4))
                .map(|_| json_value(rng, depth + 1))
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => json_object(rng, depth + 1, &[]),
    }
}

/// A random object with distinct keys (duplicate keys are a parse error of their own).
fn json_object(rng: &mut Rng, depth: u32, taken: &[&str]) -> String {
    let mut keys: Vec<String> = vec![];
    let mut members = vec![];
    for _ in 0..rng.below(4) {
        let k = json_string(rng);
        // Compare decoded names: "\u0069d" is "id".
        let decoded: String = serde_json::from_str(&k).expect("generated strings are valid");
        if keys.contains(&decoded) || taken.contains(&decoded.as_str()) {
            continue;
        }
        members.push(format!("{k}: {}", json_value(rng, depth + 1)));
        keys.push(decoded);
    }
    format!("{{{}}}", members.join(", "))
}

/// One complete message and whether its reply carries the id `id`.
fn complete_message(rng: &mut Rng, id: u64) -> (Vec<u8>, Option<u64>) {
    complete_message_from(rng, id, COMMANDS)
}

fn complete_message_from(rng: &mut Rng, id: u64, commands: &[&str]) -> (Vec<u8>, Option<u64>) {
    loop {
        let (text, expect_id) = match rng.below(10) {
            // A command, with or without arguments (which may be wrong for it).
            0..=5 => {
                let cmd = rng.pick(commands);
                let args = match rng.below(4) {
                    0 => String::new(),
                    1 => ", \"arguments\": {}".to_string(),
                    2 => format!(", \"arguments\": {}", json_object(rng, 1, &[])),
                    _ => format!(
                        ", \"arguments\": {{\"path\": \"/machine\", \"property\": {}}}",
                        json_string(rng)
                    ),
                };
                let q = if rng.chance(20) { '\'' } else { '"' };
                let text = if rng.chance(50) {
                    format!("{{{q}execute{q}: \"{cmd}\"{args}, \"id\": {id}}}")
                } else {
                    format!("{{\"id\": {id}, {q}execute{q}: \"{cmd}\"{args}}}")
                };
                (text, Some(id))
            }
            // An object the dispatcher rejects (no execute, bad members), with the id.
            6 | 7 => {
                let body = json_object(rng, 1, &["id", "execute", "exec-oob", "arguments"]);
                let inner = &body[1..body.len() - 1];
                let extra = match rng.below(4) {
                    0 => ", \"execute\": 42".to_string(),
                    1 => ", \"execute\": \"query-name\", \"arguments\": [1]".to_string(),
                    2 => ", \"exec-oob\": \"query-name\"".to_string(),
                    _ => String::new(),
                };
                let sep = if inner.is_empty() { "" } else { ", " };
                (format!("{{\"id\": {id}{sep}{inner}{extra}}}"), Some(id))
            }
            // Not an object: one error without an id.
            _ => {
                let v = match rng.below(4) {
                    0 => format!("[{}]", json_value(rng, 1)),
                    1 => json_string(rng),
                    2 => rng.below(1000).to_string(),
                    _ => rng.pick(&["true", "false", "null"]).to_string(),
                };
                (v, None)
            }
        };
        let ws = *rng.pick(&["\n", "\r\n", " ", "\t", "\n\n"]);
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(ws.as_bytes());
        if !forbidden(&bytes) {
            return (bytes, expect_id);
        }
    }
}

fn start() -> (Server, QmpClient) {
    let s = start_vmm("fuzz", &["-m", "64", "-serial", "null"]);
    let mut c = s.connect();
    c.timeout = Duration::from_secs(20);
    c.negotiate();
    (s, c)
}

/// A line the server wrote must be one `\r\n`-terminated JSON object (QEMU writes `inf` for
/// doubles out of range, so a number token of that kind is tolerated).
fn parse_line(line: &[u8]) -> Value {
    assert!(
        line.ends_with(b"\r\n"),
        "line without \\r\\n: {}",
        show(line)
    );
    let text = std::str::from_utf8(line).unwrap_or_else(|_| panic!("not UTF-8: {}", show(line)));
    assert!(text.is_ascii(), "non-ASCII output: {}", show(line));
    match serde_json::from_str::<Value>(text) {
        Ok(v) => {
            assert!(v.is_object(), "not an object: {text}");
            v
        }
        Err(_) if text.contains("inf") || text.contains("nan") => Value::Null,
        Err(e) => panic!("invalid JSON from the server ({e}): {}", show(line)),
    }
}

fn check_alive(s: &mut Server) {
    assert!(
        s.proc.wait_exit(Duration::from_millis(1)).is_none(),
        "vmm exited; stderr:\n{}",
        s.proc.stderr()
    );
    assert!(!s.proc.stderr().contains("panicked"), "{}", s.proc.stderr());
}

/// Sends `burst` (written in pieces of random size when `pieces`) and checks one reply per
/// message, in order.
fn burst_round(c: &mut QmpClient, rng: &mut Rng, n: usize, next_id: &mut u64, pieces: bool) {
    let mut burst = Vec::new();
    let mut expected = Vec::with_capacity(n);
    let mut msgs = Vec::with_capacity(n);
    for _ in 0..n {
        let (m, id) = complete_message(rng, *next_id);
        *next_id += 1;
        burst.extend_from_slice(&m);
        expected.push(id);
        msgs.push(m);
    }
    let mut w = c.unix_stream().unwrap().try_clone().unwrap();
    let seed = rng.next();
    let writer = std::thread::spawn(move || {
        let mut r = Rng::new(seed);
        if pieces {
            let mut at = 0;
            while at < burst.len() {
                let len = (1 + r.below(64) as usize).min(burst.len() - at);
                w.write_all(&burst[at..at + len]).unwrap();
                at += len;
            }
        } else {
            w.write_all(&burst).unwrap();
        }
        burst
    });
    for (i, want) in expected.iter().enumerate() {
        let line = c
            .read_message_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| {
                c.fail(&format!(
                "reply {i} of {n} missing (expected id {want:?}): {e}\nmessage {i}: {}\nnext: {}",
                show(&msgs[i]),
                msgs.get(i + 1).map(|m| show(m)).unwrap_or_default()
            ))
            });
        let v = parse_line(&line);
        assert!(v.get("event").is_none(), "unexpected event {}", show(&line));
        assert!(
            v.get("return").is_some() != v.get("error").is_some(),
            "neither return nor error: {}",
            show(&line)
        );
        let got = v.get("id").and_then(Value::as_u64);
        if got != *want {
            let burst = writer.join().unwrap();
            panic!(
                "reply {i}: id {got:?}, expected {want:?}: {}\nburst: {}",
                show(&line),
                show(&burst)
            );
        }
    }
    writer.join().unwrap();
}

#[test]
fn well_formed_messages_get_exactly_one_reply_each_in_order() {
    let started = Instant::now();
    let (mut s, mut c) = start();
    let mut rng = Rng::new(seed(0x5eed_0001));
    let mut id = 0;
    // 50 bursts of 200 messages in one write, then 25 bursts written in small pieces.
    for _ in 0..50 {
        burst_round(&mut c, &mut rng, 200, &mut id, false);
    }
    for _ in 0..25 {
        burst_round(&mut c, &mut rng, 40, &mut id, true);
    }
    let extra = c.read_for(Duration::from_millis(200));
    assert!(
        extra.is_empty(),
        "output after the last reply: {}",
        show(&extra)
    );
    check_alive(&mut s);
    assert!(id >= 10_000);
    eprintln!("{id} messages in {:?}", started.elapsed());
}

/// Mutations of valid commands, token soup and raw bytes, followed by `\x01` and a command
/// that must be answered.
fn garbage(rng: &mut Rng) -> Vec<u8> {
    garbage_from(rng, COMMANDS)
}

fn garbage_from(rng: &mut Rng, commands: &[&str]) -> Vec<u8> {
    loop {
        let mut g: Vec<u8> = match rng.below(3) {
            0 => {
                let id = rng.below(1000);
                let (mut m, _) = complete_message_from(rng, id, commands);
                for _ in 0..1 + rng.below(4) {
                    if m.is_empty() {
                        break;
                    }
                    let at = rng.below(m.len() as u64) as usize;
                    match rng.below(5) {
                        0 => m[at] = rng.next() as u8,
                        1 => {
                            m.remove(at);
                        }
                        2 => m.insert(at, *rng.pick(b"{}[]:,\"'\\\x00\x01\xff\n\t 0e.-")),
                        3 => m.truncate(at),
                        _ => {
                            let end = (at + 1 + rng.below(8) as usize).min(m.len());
                            let dup = m[at..end].to_vec();
                            m.splice(at..at, dup);
                        }
                    }
                }
                m
            }
            1 => {
                const SOUP: &[&str] = &[
                    "{",
                    "}",
                    "[",
                    "]",
                    ":",
                    ",",
                    "\"",
                    "'",
                    "\\",
                    "\"execute\"",
                    "\"id\"",
                    "\"query-name\"",
                    "true",
                    "tru",
                    "null",
                    "nul",
                    "1",
                    "-0",
                    "1e5",
                    "01",
                    "1.",
                    "\\u12",
                    "\\ud800",
                    " ",
                    "\n",
                    "\t",
                    "\r",
                    "\u{e9}",
                    "\x00",
                    "%",
                    "\"arguments\"",
                    "{}",
                    "[]",
                ];
                (0..1 + rng.below(30))
                    .flat_map(|_| rng.pick(SOUP).as_bytes().to_vec())
                    .collect()
            }
            _ => (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect(),
        };
        g.truncate(256);
        if !forbidden(&g) {
            return g;
        }
    }
}

#[test]
fn garbage_never_crashes_and_ctrl_a_resynchronises() {
    let started = Instant::now();
    let (mut s, mut c) = start();
    let mut rng = Rng::new(seed(0x5eed_0002));
    let rounds = 2_000;
    let mut chunks = 0;
    let mut error_lines = 0;
    for round in 0..rounds {
        let mut input = Vec::new();
        for _ in 0..1 + rng.below(9) {
            input.extend(garbage(&mut rng));
            chunks += 1;
        }
        c.send(&input);
        c.send(format!("\x01{{\"execute\":\"query-name\",\"id\":\"sync-{round}\"}}").as_bytes());
        let sync = format!("\"id\": \"sync-{round}\"");
        loop {
            let line = c
                .read_message_timeout(Duration::from_secs(10))
                .unwrap_or_else(|e| {
                    check_alive(&mut s);
                    c.fail(&format!(
                        "round {round}: no reply to the command after \\x01 ({e}); input was {}",
                        show(&input)
                    ))
                });
            let v = parse_line(&line);
            if String::from_utf8_lossy(&line).contains(&sync) {
                assert_eq!(
                    String::from_utf8_lossy(&line),
                    format!("{{\"return\": {{}}, {sync}}}\r\n"),
                    "round {round}: input {}",
                    show(&input)
                );
                break;
            }
            assert!(
                v.is_null() || v.get("return").is_some() || v.get("error").is_some(),
                "round {round}: {}",
                show(&line)
            );
            error_lines += 1;
        }
    }
    check_alive(&mut s);
    // The session is still usable with a plain command and nothing is left over.
    let r = c.command(b"{\"execute\":\"query-status\",\"id\":\"end\"}");
    assert!(String::from_utf8_lossy(&r).contains("\"id\": \"end\""));
    let extra = c.read_for(Duration::from_millis(200));
    assert!(extra.is_empty(), "{}", show(&extra));
    eprintln!(
        "{chunks} garbage chunks in {rounds} rounds, {error_lines} other replies, {:?}",
        started.elapsed()
    );
}

/// Garbage from several clients one after another: each disconnect in the middle of junk
/// must leave the next client a clean parser and a fresh negotiation.
#[test]
fn clients_leaving_mid_garbage_do_not_affect_the_next() {
    let (mut s, c) = start();
    drop(c);
    let mut rng = Rng::new(seed(0x5eed_0003));
    for i in 0..100 {
        let mut c = s.connect();
        c.timeout = Duration::from_secs(20);
        let g = c.greeting();
        assert!(g.starts_with(b"{\"QMP\": "), "client {i}: {}", show(&g));
        if rng.chance(50) {
            c.command(b"{\"execute\":\"qmp_capabilities\"}");
        }
        let mut input = garbage(&mut rng);
        // Leave mid-message often.
        input.extend_from_slice(b"{\"execute\": \"query-name\", \"id\": [1, \"");
        let _ = c.try_send(&input);
    }
    let mut c = s.connect();
    c.negotiate();
    let r = c.command(b"{\"execute\":\"query-name\",\"id\":\"last\"}");
    assert_eq!(
        String::from_utf8_lossy(&r),
        "{\"return\": {}, \"id\": \"last\"}\r\n"
    );
    check_alive(&mut s);
}

/// Commands whose replies are the same on the VMM and on QEMU with `-machine none`.
const SAME_ON_BOTH: &[&str] = &[
    "query-status",
    "query-name",
    "query-version",
    "query-target",
    "query-uuid",
    "query-fdsets",
    "no-such-command",
    "qmp_capabilities",
];

fn differential_rounds(seed: u64, rounds: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..rounds)
        .map(|round| {
            let mut input = Vec::new();
            for _ in 0..1 + rng.below(4) {
                if rng.chance(30) {
                    let id = rng.below(1000);
                    input.extend(complete_message_from(&mut rng, id, SAME_ON_BOTH).0);
                } else {
                    input.extend(garbage_from(&mut rng, SAME_ON_BOTH));
                }
            }
            input.extend_from_slice(
                format!("\x01{{\"execute\":\"query-name\",\"id\":\"sync-{round}\"}}").as_bytes(),
            );
            input
        })
        .collect()
}

fn run_rounds(server: &Server, rounds: &[Vec<u8>]) -> Vec<Vec<String>> {
    let mut c = server.connect();
    c.timeout = Duration::from_secs(20);
    c.negotiate();
    rounds
        .iter()
        .enumerate()
        .map(|(round, input)| {
            c.send(input);
            let sync = format!("\"id\": \"sync-{round}\"");
            let mut lines = vec![];
            loop {
                match c.read_message_timeout(Duration::from_secs(20)) {
                    Ok(line) => {
                        let text = mask(&line);
                        if text.contains(&sync) {
                            break;
                        }
                        lines.push(text);
                    }
                    Err(e) => {
                        lines.push(format!("<{e}>"));
                        return lines;
                    }
                }
            }
            lines
        })
        .collect()
}

/// The same random input (garbage and complete messages, each round ended by `\x01` and a
/// command) fed to the VMM and to QEMU gives the same replies, byte for byte.
#[test]
fn random_input_gets_the_same_replies_as_from_qemu() {
    let Some(q) = qemu_or_skip("random_input_gets_the_same_replies_as_from_qemu") else {
        return;
    };
    let rounds = differential_rounds(seed(0x5eed_0004), 1500);
    let vmm = start_protocol(Impl::Vmm, None, "fuzzdiff");
    let ours = run_rounds(&vmm, &rounds);
    let qemu = start_protocol(Impl::Qemu, Some(&q), "fuzzdiffq");
    let theirs = run_rounds(&qemu, &rounds);
    let mut report = String::new();
    let mut differing = 0;
    for (i, input) in rounds.iter().enumerate() {
        if ours[i] != theirs[i] {
            differing += 1;
            if differing <= 8 {
                report.push_str(&format!(
                    "\nround {i}: input {}\n  vmm:  {:#?}\n  qemu: {:#?}\n",
                    show(input),
                    ours[i],
                    theirs[i]
                ));
            }
        }
    }
    assert!(
        report.is_empty(),
        "{differing} of {} rounds differ from QEMU:{report}",
        rounds.len()
    );
}
