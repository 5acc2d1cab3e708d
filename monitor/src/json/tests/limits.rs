//! The per-message limits. Expected results were measured on QEMU 10.0.2; after a limit error
//! the rest of the message is parsed as new input.

use super::{describe_all, EXPECTING_VALUE as EV, NOT_OBJ, OBJ};
use crate::json::{JsonError, JsonStreamer, Limits};

const NESTING: &str = "JSON nesting depth limit exceeded";
const COUNT: &str = "JSON token count limit exceeded";
const SIZE: &str = "JSON token size limit exceeded";
const MIB64: usize = 64 << 20;

fn repeat(parts: &[(&[u8], usize)]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|(bytes, n)| bytes.repeat(*n))
        .collect()
}

/// Counts of consecutive equal descriptions, to keep expectations for 1000s of errors short.
fn runs(items: Vec<String>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for item in items {
        match out.last_mut() {
            Some((last, n)) if *last == item => *n += 1,
            _ => out.push((item, 1)),
        }
    }
    out
}

fn expect(input: &[u8], expected: &[(&str, usize)]) {
    let expected: Vec<(String, usize)> =
        expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    // Whole-input feeding here: byte-wise feeding of multi-MiB inputs is slow in debug builds.
    let items = JsonStreamer::new().feed(input);
    let got = runs(items.iter().map(super::describe).collect());
    assert_eq!(got, expected);
}

#[test]
fn nesting_depth() {
    expect(&repeat(&[(b"[", 1024), (b"]", 1024)]), &[(NOT_OBJ, 1)]);
    // Each of the trailing `]` is then a message of its own.
    expect(
        &repeat(&[(b"[", 1025), (b"]", 1025)]),
        &[(NESTING, 1), (EV, 1025)],
    );
    expect(
        &repeat(&[(b"{\"a\":", 1024), (b"1", 1), (b"}", 1024)]),
        &[(OBJ, 1)],
    );
    // Rest: `"a"`, `:`, `1`, then 1025 `}`.
    expect(
        &repeat(&[(b"{\"a\":", 1025), (b"1", 1), (b"}", 1025)]),
        &[
            (NESTING, 1),
            (NOT_OBJ, 1),
            (EV, 1),
            (NOT_OBJ, 1),
            (EV, 1025),
        ],
    );
    // Braces and brackets count together.
    expect(
        &repeat(&[(b"[{\"a\":", 512), (b"1", 1), (b"}]", 512)]),
        &[(NOT_OBJ, 1)],
    );
    expect(
        &repeat(&[(b"[{\"a\":", 512), (b"[1]", 1), (b"}]", 512)]),
        &[(NESTING, 1), (NOT_OBJ, 1), (EV, 1025)],
    );
}

#[test]
fn token_count() {
    // 1 + 2 * 1048574 + 2 = 2097151 tokens.
    expect(
        &repeat(&[(b"[", 1), (b"0,", 1048574), (b"0]", 1)]),
        &[(NOT_OBJ, 1)],
    );
    // Exactly 2 Mi tokens.
    expect(
        &repeat(&[(b"[", 1), (b"0,", 1048574), (b"[]]", 1)]),
        &[(NOT_OBJ, 1)],
    );
    // One more: the final `]` is refused and dropped.
    expect(
        &repeat(&[(b"[", 1), (b"0,", 1048575), (b"0]", 1)]),
        &[(COUNT, 1)],
    );
}

#[test]
fn token_size() {
    // Each token counts its length plus one against 64 MiB, checked as it is added.
    expect(
        &repeat(&[(b"[\"", 1), (b"a", MIB64 - 5), (b"\"]", 1)]),
        &[(NOT_OBJ, 1)],
    );
    expect(
        &repeat(&[(b"[\"", 1), (b"a", MIB64 - 4), (b"\"]", 1)]),
        &[(SIZE, 1)],
    );
    expect(
        &repeat(&[(b"\"", 1), (b"a", MIB64 - 3), (b"\"", 1)]),
        &[(NOT_OBJ, 1)],
    );
    expect(
        &repeat(&[(b"\"", 1), (b"a", MIB64 - 2), (b"\"", 1)]),
        &[(SIZE, 1)],
    );
}

/// An unfinished token longer than the limit is dropped and lexing restarts right there: the
/// rest of the string reads as a keyword, and its closing quote opens a new string.
#[test]
fn oversized_unfinished_token() {
    let mut streamer = JsonStreamer::new();
    let items = streamer.feed(&repeat(&[(b"\"", 1), (b"a", MIB64 + 10), (b"\"", 1)]));
    let items: Vec<String> = items.iter().map(super::describe).collect();
    assert_eq!(
        items,
        [SIZE, "JSON parse error, invalid keyword 'aaaaaaaaaa'"]
    );
    assert_eq!(
        streamer.feed(b"\xff"),
        [Err(JsonError::Stray("\"\u{FFFD}".into()))]
    );
}

/// The same rules with small limits, fed byte by byte too.
#[test]
fn small_limits_reparse_the_rest() {
    let limits = Limits {
        token_size: 16,
        token_count: 5,
        nesting: 2,
    };
    let run = |input: &[u8]| -> Vec<String> {
        let whole: Vec<String> = JsonStreamer::with_limits(limits)
            .feed(input)
            .iter()
            .map(super::describe)
            .collect();
        let mut streamer = JsonStreamer::with_limits(limits);
        let bytewise: Vec<String> = input
            .iter()
            .flat_map(|b| streamer.feed(&[*b]))
            .map(|item| super::describe(&item))
            .collect();
        assert_eq!(whole, bytewise);
        whole
    };
    assert_eq!(run(b"[[1]]"), [NOT_OBJ]);
    assert_eq!(run(b"[[[1]]]"), [NESTING, NOT_OBJ, EV, EV, EV]);
    assert_eq!(run(b"[1,2]"), [NOT_OBJ]);
    // The 6th token, `3`, is refused and dropped; `]` then stands alone.
    assert_eq!(run(b"[1,2,3]"), [COUNT, EV]);
    assert_eq!(run(b"[1,2,3,4]"), [COUNT, EV, NOT_OBJ, EV]);
    // 1 + 14 + 1 bytes: the string fits, the `]` does not.
    assert_eq!(run(b"[\"abcdefghijkl\"]"), [SIZE]);
    // An unfinished 17-byte token: dropped, the rest lexed afresh.
    assert_eq!(
        run(b"\"abcdefghijklmnopq\""),
        [SIZE, "JSON parse error, invalid keyword 'q'"]
    );
    assert_eq!(describe_all(b"[]"), [NOT_OBJ]);
}
