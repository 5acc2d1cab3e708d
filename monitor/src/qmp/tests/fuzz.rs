//! Bounded random testing of whole sessions: random bytes and mutated requests, fed in
//! random chunks. Checks: no panic, one reply per complete message, well-formed output
//! lines, and output that does not depend on the chunking.

use super::harness::{zero_timestamps, Client, Rng};
use crate::json::JsonStreamer;
use crate::qmp::SessionConfig;

const REQUESTS: &[&str] = &[
    "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
    "{\"execute\":\"qmp_capabilities\"}",
    "{\"execute\":\"query-name\",\"id\":1}",
    "{'execute':'query-status','id':'s'}",
    "{\"execute\":\"stop\"}",
    "{\"execute\":\"cont\",\"id\":[1,{}]}",
    "{\"exec-oob\":\"migrate-pause\",\"id\":\"o\"}",
    "{\"exec-oob\":\"query-name\"}",
    "{\"execute\":\"query-commands\"}",
    "{\"execute\":\"no-such\",\"id\":null}",
    "{\"execute\":\"human-monitor-command\",\"arguments\":{}}",
    "{\"execute\":\"balloon\",\"arguments\":{\"value\":1}}",
    "{\"id\":5}",
    "{\"execute\":1,\"x\":2}",
    "{\"execute\":\"query-name\",\"exec-oob\":\"query-name\"}",
];

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "\"a\"",
    "'b'",
    "\"\\u00e9\"",
    "\"\\ud800\"",
    "1e400",
    "-0.5",
    "18446744073709551615",
    "true",
    "nul",
    "tru",
    "%",
    "\"id\"",
    "\"execute\"",
    "\"arguments\"",
    "{}",
    "[]",
];

const BYTES: &[u8] =
    b"{}[]:,\"'\\ \t\r\n0123456789-.eEtrufalsn%\x00\x01\x1f\x7f\x80\xc3\xa9\xff\xfe";

fn random_stream(rng: &mut Rng) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..rng.below(40) {
        match rng.below(6) {
            0..=2 => input.extend_from_slice(rng.pick(REQUESTS).as_bytes()),
            3 => input.extend_from_slice(rng.pick(PIECES).as_bytes()),
            4 => {
                for _ in 0..rng.below(8) {
                    input.push(*rng.pick(BYTES));
                }
            }
            _ => {
                // A request cut short, or with one byte changed.
                let mut bytes = rng.pick(REQUESTS).as_bytes().to_vec();
                let at = rng.below(bytes.len());
                if rng.below(2) == 0 {
                    bytes.truncate(at);
                } else {
                    bytes[at] = *rng.pick(BYTES);
                }
                input.extend_from_slice(&bytes);
            }
        }
    }
    input
}

/// Runs `input` through a fresh client in chunks of random size (or whole if `rng` is
/// None); returns the output and the events the machine raised.
fn run(config: SessionConfig, input: &[u8], mut rng: Option<&mut Rng>) -> (Vec<u8>, usize) {
    let mut client = Client::new(config);
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = match rng.as_deref_mut() {
            Some(rng) => (1 + rng.below(48)).min(rest.len()),
            None => rest.len(),
        };
        out.extend(client.send_bytes(&rest[..n]));
        rest = &rest[n..];
    }
    (out, client.machine.events)
}

/// The number of messages in `out`, checking each is well-formed.
fn count_messages(out: &[u8], pretty: bool) -> usize {
    assert!(out.is_ascii(), "output must be ASCII");
    let text = String::from_utf8_lossy(out);
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "unterminated: {text:?}"
    );
    let mut messages = 0;
    for line in text.split_terminator("\r\n") {
        assert!(!line.contains(['\r', '\n']), "stray line break in {line:?}");
        if pretty {
            // Only a message's own braces sit in column 0.
            messages += usize::from(line == "}");
            continue;
        }
        assert!(line.starts_with('{') && line.ends_with('}'), "{line:?}");
        // `inf` and `nan` are QEMU's (invalid) echo of huge numbers: skip those lines.
        if !line.contains("inf") && !line.contains("nan") {
            let items = JsonStreamer::new().feed(format!("{line}\n").as_bytes());
            assert!(
                matches!(items.as_slice(), [Ok(serde_json::Value::Object(_))]),
                "{line:?}"
            );
        }
        messages += 1;
    }
    messages
}

#[test]
fn random_streams_in_random_chunks() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for round in 0..400 {
        let input = random_stream(&mut rng);
        let config = SessionConfig {
            pretty: rng.below(4) == 0,
            oob_offered: rng.below(4) != 0,
        };
        let (whole, whole_events) = run(config, &input, None);
        let (chunked, _) = run(config, &input, Some(&mut rng));
        let expected_replies = JsonStreamer::new().feed(&input).len();
        let messages = count_messages(&whole, config.pretty);
        assert_eq!(
            messages,
            expected_replies + whole_events,
            "round {round}: one reply per message, input {}",
            input.escape_ascii()
        );
        if !config.oob_offered {
            // With OOB, when an OOB request overtakes depends on when the reader gets to
            // it, as in QEMU; without, the output is fixed.
            assert_eq!(
                zero_timestamps(&String::from_utf8_lossy(&chunked)),
                zero_timestamps(&String::from_utf8_lossy(&whole)),
                "round {round}: chunking changed the output"
            );
        } else {
            assert_eq!(
                count_messages(&chunked, config.pretty),
                messages,
                "round {round}"
            );
        }
    }
}
