//! Every input here was sent to QEMU 10.0.2 (`-nodefaults -machine none`, QMP socket, command
//! mode) and the expected strings are the `desc` texts it answered with; `<object>` stands
//! for a message QMP dispatched and `<not an object>` for "QMP input must be a JSON object".

use super::{describe_all, parse_all, EXPECTING_VALUE as EV, NOT_OBJ, OBJ};
use crate::json::JsonStreamer;

fn check(cases: &[(&[u8], &[&str])]) {
    for (input, expected) in cases {
        assert_eq!(
            describe_all(input),
            *expected,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// qmp-reference.md section 1.5 and the raw transcripts.
#[test]
fn error_table() {
    check(&[
        (b"{]\n", &[EV]),
        (b"{\"execute\": }\n", &[EV]),
        (b"{\"execute\" \"query-name\"}\n", &["JSON parse error, missing : in object pair"]),
        (b"{\"execute\":\"query-name\" \"id\": 1}\n", &["JSON parse error, expected separator in dict"]),
        (b"{1: 2}\n", &["JSON parse error, key is not a string in object"]),
        (b"{\"execute\":\"query-name\",}\n", &[EV]),
        (b"[1,]\n", &[EV]),
        (b"{\"execute\":\"query-name\", \"id\": [1,]}\n", &[EV]),
        (b"tru\n", &["JSON parse error, invalid keyword 'tru'"]),
        (b"nul\n", &["JSON parse error, invalid keyword 'nul'"]),
        (b"{\"execute\":\"query-name\", \"id\": tru}\n", &["JSON parse error, invalid keyword 'tru'"]),
        (b"{\"execute\":\"query-name\", \"id\": \"\\x\"}\n", &["JSON parse error, invalid escape sequence in string"]),
        (b"{\"execute\":\"query-name\", \"id\": \"\\ud800\"}\n", &["JSON parse error, \\ud800 is not a valid Unicode character"]),
        (b"{\xff", &["JSON parse error, stray '\u{FFFD}'"]),
        (b"{\x01", &["JSON parse error, stray '\u{1}'"]),
        (b"{'bad \xff", &["JSON parse error, stray ''bad \u{FFFD}'"]),
        (b"{'execute': 'nonexistent', 'id':'\n", &["JSON parse error, stray ''\n'"]),
        (b"{\"execute\":\"query-name\", \"id\": \"tab\there\"}\n", &["JSON parse error, stray '\"tab\t'", EV]),
        (b"{\"execute\":\"query-name\", \"id\": 01}\n", &["JSON parse error, stray '01'", EV]),
        (b"\x00", &["JSON parse error, stray ''"]),
        (b"%%p", &["JSON parse error, stray '%'"]),
        (b"%p", &["JSON parse error, stray '%'"]),
        (b"null\n", &[NOT_OBJ]),
        (b"42 ", &[NOT_OBJ]),
        (b"\"str\"", &[NOT_OBJ]),
        (b"true\n", &[NOT_OBJ]),
        (b"[1,2]\n", &[NOT_OBJ]),
        (b"{}\n", &[OBJ]),
        (b"{\"execute\":\"query-name\"} }\n", &[OBJ, EV]),
        (b"{\"execute\":\"query-name\"} ]\n", &[OBJ, EV]),
        (
            b"{\"execute\":\"query-name\", \"arguments\": {}, \"arguments\": {\"x\":1}}\n",
            &["JSON parse error, duplicate key"],
        ),
        // Several messages in one write, with and without separators.
        (
            b"{\"execute\":\"query-name\"}\r\n{\"execute\":\"query-name\",\"id\":1}{\"execute\":\"query-name\",\"id\":2}",
            &[OBJ, OBJ, OBJ],
        ),
        // After a lexical error input is skipped up to a newline, so `%%p` and `null` vanish.
        (b"{'execute': 'nonexistent', 'id':'\n%%pnull\n42 ", &["JSON parse error, stray ''\n'", NOT_OBJ]),
        // Input right after a NUL byte is fine once a `{` resynchronises.
        (b"\x00{\"execute\":\"query-name\", \"id\": \"after-nul\"}\n", &["JSON parse error, stray ''", OBJ]),
    ]);
}

/// A scalar at depth 0 completes only when a following byte ends it; strings end themselves.
#[test]
fn scalars_need_a_delimiter() {
    for (first, second) in [(&b"null"[..], &b"\n"[..]), (b"42", b"\n"), (b"4", b"2 ")] {
        let mut streamer = JsonStreamer::new();
        assert!(streamer.feed(first).is_empty());
        assert!(!streamer.is_idle());
        assert_eq!(streamer.feed(second).len(), 1);
        assert!(streamer.is_idle());
    }
    assert_eq!(JsonStreamer::new().feed(b"\"str\"").len(), 1);
    assert_eq!(JsonStreamer::new().feed(b"{}").len(), 1);
}

/// qmp-test.c `test_malformed()`: each case fails, and the lexical ones leave the parser able
/// to take `{ 'execute': 'no-such-cmd' }` right after (`assert_recovered`).
#[test]
fn qmp_test_malformed() {
    let lexical: [&[u8]; 6] = [
        b"{]\n",
        b"{\xFF",
        b"{\x01",
        b"{'bad \xFF",
        b"{'execute': 'nonexistent', 'id':'\n",
        b"%p",
    ];
    for case in lexical {
        let mut input = case.to_vec();
        input.extend_from_slice(b"{ 'execute': 'no-such-cmd' }");
        let items = describe_all(&input);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items[0].starts_with("JSON parse error"), "{items:?}");
        assert_eq!(items[1], OBJ);
    }
    for case in [&b"null"[..], b"{}", b"{ 'execute': true }"] {
        let mut input = case.to_vec();
        input.push(b'\n');
        assert_eq!(parse_all(&input).len(), 1);
    }
}

/// More lexer cases measured on 10.0.2.
#[test]
fn lexical_errors() {
    check(&[
        (b"\x01", &["JSON parse error, stray '\u{1}'"]),
        // The `"a"` after the error is skipped: recovery waits for a structural byte.
        (b"{\x01 \"a\"", &["JSON parse error, stray '\u{1}'"]),
        (
            b"\"abc\x01def\" {\"execute\":\"query-name\",\"id\":1}",
            &["JSON parse error, stray '\"abc\u{1}'", OBJ],
        ),
        (b"\"ab\x00cd\"", &["JSON parse error, stray '\"ab'"]),
        (b"-\xff", &["JSON parse error, stray '-\u{FFFD}'"]),
        (b"- ", &["JSON parse error, stray '- '"]),
        (b"-a", &["JSON parse error, stray '-a'"]),
        (b"\x0b", &["JSON parse error, stray '\u{b}'"]),
        (b"\x0c", &["JSON parse error, stray '\u{c}'"]),
        (b"\x7f", &["JSON parse error, stray '\u{7f}'"]),
        (b"True", &["JSON parse error, stray 'T'"]),
        (b"\"x\xff", &["JSON parse error, stray '\"x\u{FFFD}'"]),
        (
            b"{\"execute\":\"query-name\",\"id\":1.}",
            &["JSON parse error, stray '1.}'"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":.5}",
            &["JSON parse error, stray '.'", EV],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":1e}",
            &["JSON parse error, stray '1e}'"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":1e+}",
            &["JSON parse error, stray '1e+}'"],
        ),
        // No exponent after a lone 0: `0e1` is `0`, keyword `e`, `1`.
        (
            b"{\"execute\":\"query-name\",\"id\":0e1}",
            &["JSON parse error, expected separator in dict"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":-0e1}",
            &["JSON parse error, expected separator in dict"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":0E1}",
            &["JSON parse error, stray 'E'", EV],
        ),
        (
            b"\r\n\t {\"execute\":\"query-name\"\r,\n\"id\"\t:\t1}",
            &[OBJ],
        ),
        (b"truex ", &["JSON parse error, invalid keyword 'truex'"]),
        (b"nulll ", &["JSON parse error, invalid keyword 'nulll'"]),
        (b"'x'", &[NOT_OBJ]),
        // Unfinished input stays pending.
        (b"\"x", &[]),
        (b"[1,2", &[]),
    ]);
}

/// Grammar errors measured on 10.0.2; only the first error of a message is reported.
#[test]
fn syntax_errors() {
    let dict_sep = "JSON parse error, expected separator in dict";
    let list_sep = "JSON parse error, expected separator in list";
    check(&[
        (b"[}", &[EV]),
        (b"[} ]", &[EV, EV]),
        (b"{ ] x\n", &[EV, "JSON parse error, invalid keyword 'x'"]),
        (
            b"{\"execute\":\"query-name\",\"id\":1,\"id\":2}",
            &["JSON parse error, duplicate key"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{\"a\":1,\"a\":[1 2]}}",
            &[list_sep],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{[1 2]:1}}",
            &[list_sep],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{{}:1}}",
            &["JSON parse error, key is not a string in object"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{\"a\" 1 2}}",
            &["JSON parse error, missing : in object pair"],
        ),
        (b"{\"execute\":\"query-name\",\"id\":[1 2]}", &[list_sep]),
        (b"{\"execute\":\"query-name\",\"id\":[1:2]}", &[list_sep]),
        (
            b"{\"execute\":\"query-name\",\"id\":{\"a\":1:2}}",
            &[dict_sep],
        ),
        (b"{\"execute\":\"query-name\",\"id\":{,}}", &[EV]),
        (b"{\"execute\":\"query-name\",\"id\":[,]}", &[EV]),
        (b"{\"execute\":\"query-name\",\"id\":{\"a\":}", &[]),
        (
            b"{\"execute\":\"query-name\",\"id\":{\"\\x\":1}}",
            &["JSON parse error, invalid escape sequence in string"],
        ),
        (
            b"{\"execute\":\"query-name\",\"id\":{\"a\":1}]}",
            &[dict_sep, EV],
        ),
        (b"{\"execute\":\"query-name\",\"id\":{\"a\":[}]}", &[EV]),
        (b":", &[EV]),
        (b",", &[EV]),
        (b"{\"a\":1}}", &[OBJ, EV]),
        (b"[1]]", &[NOT_OBJ, EV]),
        (
            b"{\"execute\":\"query-name\",\"id\":\"\\\xc3\xa9\"}",
            &["JSON parse error, invalid escape sequence in string"],
        ),
    ]);
}
