//! Strings, keywords and numbers, sent to QEMU 10.0.2 inside
//! `{"execute":"query-name","id":...}`: the expected texts are the error `desc` it answered
//! with, or the `id` it echoed back.

use super::{describe_all, parse_all, render};
use crate::json::{JsonError, SyntaxError};

/// `\u` escapes and raw UTF-8 that QEMU rejects, with its exact messages.
#[test]
fn string_errors() {
    let utf8 = "JSON parse error, invalid UTF-8 sequence in string";
    let cases: &[(&[u8], &str)] = &[
        (
            b"\\u1",
            "JSON parse error, \\u1\" is not a valid Unicode character",
        ),
        (
            b"\\u12",
            "JSON parse error, \\u12\" is not a valid Unicode character",
        ),
        (
            b"\\u123",
            "JSON parse error, \\u123\" is not a valid Unicode character",
        ),
        (
            b"\\u12g4",
            "JSON parse error, \\u12g4 is not a valid Unicode character",
        ),
        (
            b"\\uFFFF",
            "JSON parse error, \\uFFFF is not a valid Unicode character",
        ),
        (
            b"\\uFFFE",
            "JSON parse error, \\uFFFE is not a valid Unicode character",
        ),
        (
            b"\\uFDD0",
            "JSON parse error, \\uFDD0 is not a valid Unicode character",
        ),
        (
            b"\\uFDEF",
            "JSON parse error, \\uFDEF is not a valid Unicode character",
        ),
        (
            b"\\udc00",
            "JSON parse error, \\udc00 is not a valid Unicode character",
        ),
        (
            b"\\ud800\\u0041",
            "JSON parse error, \\ud800 is not a valid Unicode character",
        ),
        (
            b"\\udbff\\udfff",
            "JSON parse error, \\udbff\\udfff is not a valid Unicode character",
        ),
        (
            b"\\ud800\\u",
            "JSON parse error, \\ud800 is not a valid Unicode character",
        ),
        (
            b"\\ud800x",
            "JSON parse error, \\ud800 is not a valid Unicode character",
        ),
        (b"\xef\xbf\xbf", utf8),
        (b"\xc0\x81", utf8),
        (b"\xc3", utf8),
        (b"\xed\xa0\x80", utf8),
        (b"\x80", utf8),
        (b"\xf4\x90\x80\x80", utf8),
        (b"\xf8\x88\x80\x80\x80", utf8),
        (b"\xfc\x84\x80\x80\x80\x80", utf8),
        (b"\xe4\xb8", utf8),
    ];
    for (body, expected) in cases {
        let mut input = b"{\"execute\":\"query-name\",\"id\":\"".to_vec();
        input.extend_from_slice(body);
        input.extend_from_slice(b"\"}");
        assert_eq!(describe_all(&input), [*expected], "{body:?}");
    }
    // The quote shown by a short escape is the string's own.
    let items = describe_all(b"'\\u1' ");
    assert_eq!(
        items,
        ["JSON parse error, \\u1' is not a valid Unicode character"]
    );
}

/// Keyword errors go through a 1024-byte buffer in QEMU: the message is cut at 1023 bytes.
#[test]
fn long_keyword_is_truncated() {
    let mut input = b"{\"execute\":\"query-name\",\"id\":".to_vec();
    input.extend(std::iter::repeat_n(b'a', 2000));
    input.push(b'}');
    let items = describe_all(&input);
    let expected = format!("JSON parse error, invalid keyword '{}", "a".repeat(1006));
    assert_eq!(items, [expected]);
    // Just short enough to keep the closing quote.
    let item = JsonError::Syntax(SyntaxError::InvalidKeyword("b".repeat(1005)));
    assert!(item.to_string().ends_with("b'"));
}

/// `{"execute":"query-name","id":ID}` made QEMU 10.0.2 answer `{"return": {}, "id": OUT}`.
#[test]
fn echoed_ids() {
    let cases: &[(&[u8], &str)] = &[
        (b"1", "1"),
        (b"-1", "-1"),
        (b"18446744073709551615", "18446744073709551615"),
        (b"true", "true"),
        (b"null", "null"),
        (b"\"cookie#1\"", "\"cookie#1\""),
        (b"{\"a\":[1,2]}", "{\"a\": [1, 2]}"),
        (b"1.5e3", "1500"),
        (b"1e400", "inf"),
        (b"-1e400", "-inf"),
        (b"123456789012345678901234567890", "1.2345678901234568e+29"),
        (b"0.1", "0.10000000000000001"),
        (b"-0", "0"),
        (b"-0.0", "-0"),
        (b"5e-324", "4.9406564584124654e-324"),
        (b"0.5e1", "5"),
        (b"\"\\u00e9\\u4e2d\"", "\"\\u00E9\\u4E2D\""),
        (b"\"\xc3\xa9\"", "\"\\u00E9\""),
        (b"\"a\\u0000b\"", "\"a\\u0000b\""),
        (b"\"\\u0000\"", "\"\\u0000\""),
        (b"\"\xc0\x80\"", "\"\\u0000\""),
        (b"\"\\uFDF0\"", "\"\\uFDF0\""),
        (b"\"\\ud800\\udc00\"", "\"\\uD800\\uDC00\""),
        (b"\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\""),
        (b"\"\xf0\x9f\x98\x80\"", "\"\\uD83D\\uDE00\""),
        (b"\"\x7f\"", "\"\\u007F\""),
        (b"\"\\u0041\xc3\xa9\\u00e9\"", "\"A\\u00E9\\u00E9\""),
        (
            b"\"\\u0000\\u001f\\u007f\\u0080/\\/\\b\\f\\n\\r\\t\\\"\\'\"",
            "\"\\u0000\\u001F\\u007F\\u0080//\\b\\f\\n\\r\\t\\\"'\"",
        ),
        (b"'a\"b\\'c'", "\"a\\\"b'c\""),
        (
            b"{\"b\":1,\"a\":2,\"c\":3,\"id\":4,\"return\":5,\"error\":6}",
            "{\"a\": 2, \"b\": 1, \"return\": 5, \"c\": 3, \"id\": 4, \"error\": 6}",
        ),
        (
            b"{\"z\":1,\"y\":2,\"x\":3,\"w\":4,\"v\":5,\"u\":6,\"t\":7,\"s\":8}",
            "{\"w\": 4, \"s\": 8, \"x\": 3, \"t\": 7, \"y\": 2, \"u\": 6, \"z\": 1, \"v\": 5}",
        ),
        // Same bucket: newest first. A NUL is hashed as QEMU stores it, C0 80.
        (b"{\"micro\":1,\"minor\":2}", "{\"minor\": 2, \"micro\": 1}"),
        (b"{\"minor\":2,\"micro\":1}", "{\"micro\": 1, \"minor\": 2}"),
        (b"{\"b\":2,\"c\\u0000\":1}", "{\"c\\u0000\": 1, \"b\": 2}"),
        (b"[]", "[]"),
        (b"{}", "{}"),
        (b"[{},[],[[]],{\"a\":{}}]", "[{}, [], [[]], {\"a\": {}}]"),
    ];
    for (id, expected) in cases {
        let mut input = b"{\"execute\":\"query-name\",\"id\":".to_vec();
        input.extend_from_slice(id);
        input.push(b'}');
        let items = parse_all(&input);
        assert_eq!(items.len(), 1);
        let id = items[0].clone().map(|v| v["id"].clone());
        assert_eq!(
            render(&id),
            *expected,
            "{:?}",
            String::from_utf8_lossy(&input)
        );
    }
}
