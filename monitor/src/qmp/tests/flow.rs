//! Input framing, the request queue and backpressure (qmp-reference.md sections 1.1, 1.7),
//! and the output buffer.

use super::harness::{generic, Client};
use crate::qmp::{format_event, OutputBuffer, QmpSession, SessionConfig, QUEUE_LEN_MAX};
use serde_json::json;
use std::time::SystemTime;

fn negotiated(oob: bool) -> QmpSession {
    let mut s = QmpSession::new(SessionConfig {
        pretty: false,
        oob_offered: true,
    });
    if oob {
        s.feed(b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}");
    } else {
        s.feed(b"{\"execute\":\"qmp_capabilities\"}");
    }
    assert_eq!(s.take_output(), b"{\"return\": {}}\r\n");
    s
}

fn text(s: &mut QmpSession) -> String {
    String::from_utf8(s.take_output()).unwrap_or_default()
}

fn quick(id: usize) -> String {
    format!("{{\"execute\":\"query-name\",\"id\":{id}}}")
}

#[test]
fn without_oob_one_request_at_a_time() {
    let mut s = negotiated(false);
    assert!(s.wants_input());
    s.feed(format!("{}{}{}", quick(1), quick(2), quick(3)).as_bytes());
    assert!(!s.wants_input(), "suspended after the first request");
    for id in 1..=3 {
        let request = s.next_request().expect("next in order");
        assert_eq!(request.id, Some(json!(id)));
        assert!(s.next_request().is_none(), "one in flight");
        assert!(!s.wants_input());
        s.reply(request.id, Ok(json!({})));
    }
    assert!(s.wants_input(), "resumed after the last reply");
    assert_eq!(
        text(&mut s),
        "{\"return\": {}, \"id\": 1}\r\n{\"return\": {}, \"id\": 2}\r\n{\"return\": {}, \"id\": 3}\r\n"
    );
}

#[test]
fn errors_are_answered_in_order() {
    let mut s = negotiated(false);
    s.feed(format!("{}{{]{}", quick(1), quick(2)).as_bytes());
    let first = s.next_request().expect("first request");
    assert!(
        s.take_output().is_empty(),
        "the parse error waits for the reply"
    );
    s.reply(first.id, Ok(json!({})));
    let second = s.next_request().expect("second request");
    s.reply(second.id, Ok(json!({})));
    assert_eq!(
        text(&mut s),
        "{\"return\": {}, \"id\": 1}\r\n".to_owned()
            + &generic("JSON parse error, expecting value")
            + "{\"return\": {}, \"id\": 2}\r\n"
    );
}

#[test]
fn errors_with_nothing_in_flight_do_not_suspend() {
    let mut s = negotiated(false);
    s.feed(b"{]{}[]{\"execute\":\"no-such\"}");
    assert!(s.wants_input());
    assert!(s.next_request().is_none());
    assert_eq!(text(&mut s).matches("\r\n").count(), 4);
}

#[test]
fn with_oob_eight_requests_queue() {
    let mut s = negotiated(true);
    let mut input = String::new();
    for id in 0..=QUEUE_LEN_MAX {
        input.push_str(&quick(id));
    }
    s.feed(input.as_bytes());
    // One taken by the dispatcher, eight queued: the reader stops.
    assert!(!s.wants_input());
    let first = s.next_request().expect("first");
    assert!(!s.wants_input());
    s.reply(first.id, Ok(json!({})));
    // Popping the next one makes room.
    assert!(s.wants_input());
}

/// Measured on QEMU 10.0.2 with a blocking `blockdev-add` in flight: seven queued in-band
/// requests let an OOB request through at once, eight hold it back until the queue drains.
#[test]
fn oob_request_behind_a_full_queue_waits() {
    for queued in [QUEUE_LEN_MAX - 1, QUEUE_LEN_MAX] {
        let mut s = negotiated(true);
        let mut input = "{\"execute\":\"query-status\",\"id\":\"blk\"}".to_owned();
        for id in 0..queued {
            input.push_str(&quick(id));
        }
        input.push_str("{\"exec-oob\":\"migrate-pause\",\"id\":\"oob\"}");
        s.feed(input.as_bytes());
        if queued < QUEUE_LEN_MAX {
            // The OOB request was read and goes first, overtaking all in-band ones.
            let oob = s.next_request().expect("OOB request");
            assert_eq!(oob.id, Some(json!("oob")));
            assert!(oob.oob);
            let blocking = s.next_request().expect("blocking request");
            assert_eq!(blocking.id, Some(json!("blk")));
        } else {
            let blocking = s.next_request().expect("blocking request");
            assert_eq!(blocking.id, Some(json!("blk")));
            assert!(
                s.next_request().is_none(),
                "the OOB request is not read yet"
            );
            s.reply(blocking.id, Ok(json!({})));
            // The dispatcher took request 0, which lets the reader on to the OOB request.
            let oob = s
                .next_request()
                .expect("OOB request once the queue drained");
            assert_eq!(oob.id, Some(json!("oob")));
            assert!(oob.oob);
        }
    }
}

#[test]
fn input_split_anywhere_gives_the_same_output() {
    let input = b"{\"execute\":\"query-name\",\"id\":\"a\"}{]  {'execute': 'query-name', 'id': [1, {\"x\": \"\\u00e9\"}]}\r\n42 {\"execute\":\"stop\"}";
    let mut whole = Client::negotiated(false);
    let expected = super::harness::zero_timestamps(&whole.send(input));
    assert_eq!(expected.matches("\r\n").count(), 6);
    for chunk in 1..input.len() {
        let mut split = Client::negotiated(false);
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            out.extend(split.send_bytes(piece));
        }
        let out = super::harness::zero_timestamps(&String::from_utf8_lossy(&out));
        assert_eq!(out, expected, "chunks of {chunk}");
    }
}

#[test]
fn reads_stop_while_suspended() {
    let mut c = Client::negotiated(false);
    let input = format!("{}{}", quick(1), quick(2));
    c.session.feed(input.as_bytes());
    // The caller sees it must not read; a held request keeps it that way.
    let held = c.session.next_request().expect("first");
    assert!(!c.session.wants_input());
    assert!(c.session.next_request().is_none());
    c.session.reply(held.id, Ok(json!({})));
    let second = c.session.next_request().expect("second");
    c.session.reply(second.id, Ok(json!({})));
    assert!(c.session.wants_input());
    assert_eq!(c.unread(), 0);
}

#[test]
fn events_go_out_before_the_pending_reply() {
    let mut s = negotiated(false);
    s.feed(quick(7).as_bytes());
    let request = s.next_request().expect("request");
    let event = format_event(&qapi::Event::Stop, SystemTime::UNIX_EPOCH);
    assert!(s.event(&event));
    s.reply(request.id, Ok(json!({})));
    assert_eq!(
        text(&mut s),
        format!("{event}\r\n{{\"return\": {{}}, \"id\": 7}}\r\n")
    );
}

#[test]
fn output_buffer_drains_in_pieces() {
    let mut s = negotiated(false);
    let mut written = Vec::new();
    for round in 0..50 {
        s.feed(quick(round).as_bytes());
        let request = s.next_request().expect("request");
        s.reply(request.id, Ok(json!({"round": round})));
        // A slow socket: take a few bytes at a time.
        let n = s.output().pending().len().min(7);
        written.extend_from_slice(&s.output().pending()[..n]);
        s.output().consume(n);
    }
    written.extend_from_slice(s.output().pending());
    let len = s.output().len();
    s.output().consume(len);
    assert!(s.output().is_empty());
    let expected: String = (0..50)
        .map(|r| format!("{{\"return\": {{\"round\": {r}}}, \"id\": {r}}}\r\n"))
        .collect();
    assert_eq!(String::from_utf8_lossy(&written), expected);
}

#[test]
fn output_buffer_write_to_and_take() {
    let mut out = OutputBuffer::default();
    out.appender().extend_from_slice(b"hello ");
    out.appender().extend_from_slice(b"world");
    let mut sink = Vec::new();
    assert_eq!(out.write_to(&mut sink).ok(), Some(11));
    assert!(out.is_empty());
    out.appender().extend_from_slice(b"abc");
    out.consume(1);
    assert_eq!(out.take(), b"bc");
    assert!(out.is_empty());
    out.consume(100);
    assert_eq!(out.len(), 0);
}
