//! QEMU's tests/qtest/qmp-test.c cases (qmp/protocol, qmp/oob, qmp/missing-any-arg), with
//! the exact bytes QEMU 10.0.2 answers instead of just the error classes.

use super::harness::{error_line, generic, Client, GREETING, MIGRATE_PAUSE_ERROR};
use crate::qmp::{QmpSession, SessionConfig};

const EXPECTING: &str = "Expecting capabilities negotiation with 'qmp_capabilities'";

/// `test_malformed()`: every case is a GenericError, also before negotiation (no
/// CommandNotFound rewrite); `assert_recovered` probes with `no-such-cmd` after the
/// lexical ones.
fn test_malformed(c: &mut Client) {
    let recovered = if c.session.is_negotiated() {
        error_line(
            None,
            "CommandNotFound",
            "The command no-such-cmd has not been found",
        )
    } else {
        error_line(None, "CommandNotFound", EXPECTING)
    };
    let lexical: [(&[u8], String); 6] = [
        (b"{]\n", generic("JSON parse error, expecting value")),
        (b"{\xff", generic("JSON parse error, stray '\\uFFFD'")),
        (b"{\x01", generic("JSON parse error, stray '\\u0001'")),
        (
            b"{'bad \xff",
            generic("JSON parse error, stray ''bad \\uFFFD'"),
        ),
        (
            b"{'execute': 'nonexistent', 'id':'\n",
            generic("JSON parse error, stray ''\\n'"),
        ),
        // The test's `%%p` goes through printf.
        (b"%p", generic("JSON parse error, stray '%'")),
    ];
    for (input, expected) in &lexical {
        assert_eq!(
            c.send(input),
            *expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(c.send(b"{ 'execute': 'no-such-cmd' }"), recovered);
    }
    let shape: [(&[u8], &str); 5] = [
        (b"null\n", "QMP input must be a JSON object"),
        (b"{}", "QMP input lacks member 'execute'"),
        (
            b"{ 'execute': true }",
            "QMP input member 'execute' must be a string",
        ),
        (
            b"{ 'execute': 'no-such-cmd', 'arguments': [] }",
            "QMP input member 'arguments' must be an object",
        ),
        (
            b"{ 'execute': 'no-such-cmd', 'extra': true }",
            "QMP input member 'extra' is unexpected",
        ),
    ];
    for (input, desc) in shape {
        assert_eq!(
            c.send(input),
            generic(desc),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn protocol() {
    let mut c = Client::qmp();
    assert_eq!(
        c.session.greeting(&super::harness::version()),
        GREETING.as_bytes()
    );
    assert_eq!(
        c.send(b"{ 'execute': 'query-version' }"),
        error_line(None, "CommandNotFound", EXPECTING)
    );
    test_malformed(&mut c);
    assert_eq!(
        c.send(b"{ 'execute': 'qmp_capabilities' }"),
        "{\"return\": {}}\r\n"
    );
    assert_eq!(
        c.send(b"{ 'execute': 'qmp_capabilities' }"),
        error_line(
            None,
            "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored"
        )
    );
    assert_eq!(
        c.send(b"{ 'execute': 'query-version' }"),
        "{\"return\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}}\r\n"
    );
    test_malformed(&mut c);
    assert_eq!(
        c.send(b"{ 'execute': 'query-name', 'id': 'cookie#1' }"),
        "{\"return\": {}, \"id\": \"cookie#1\"}\r\n"
    );
    assert_eq!(
        c.send(b"{ 'execute': 'human-monitor-command', 'id': 2 }"),
        error_line(
            Some("2"),
            "GenericError",
            "Parameter 'command-line' is missing"
        )
    );
}

#[test]
fn missing_any_arg() {
    let mut c = Client::negotiated(false);
    assert_eq!(
        c.send(
            b"{'execute': 'qom-set', 'arguments': { 'path': '/machine', 'property': 'rtc-time' }}"
        ),
        generic("Parameter 'value' is missing")
    );
}

#[test]
fn oob_negotiation_and_rejection() {
    let mut c = Client::qmp();
    assert!(GREETING.contains("\"capabilities\": [\"oob\"]"));
    assert_eq!(
        c.send(b"{ 'execute': 'qmp_capabilities', 'arguments': { 'enable': [ 'cap-does-not-exist' ] } }"),
        generic("Parameter 'null' does not accept value 'cap-does-not-exist'")
    );
    assert_eq!(
        c.send(b"{ 'execute': 'qmp_capabilities', 'arguments': { 'enable': [ 'oob' ] } }"),
        "{\"return\": {}}\r\n"
    );
    assert!(c.session.oob_enabled());
    assert_eq!(
        c.send(b"{ 'exec-oob': 'query-cpus-fast' }"),
        generic("The command query-cpus-fast does not support OOB")
    );
}

/// The overtaking test: an in-band command blocks (the caller holds it), a quick one is
/// queued behind it, and an OOB command is answered first.
#[test]
fn oob_overtakes_queued_in_band_requests() {
    let mut s = QmpSession::new(SessionConfig {
        pretty: false,
        oob_offered: true,
    });
    s.feed(b"{ 'execute': 'qmp_capabilities', 'arguments': { 'enable': [ 'oob' ] } }");
    assert_eq!(s.take_output(), b"{\"return\": {}}\r\n");
    s.feed(b"{ 'execute': 'query-status', 'id': 'ib-blocks-1' }");
    // The caller starts it and holds it: it blocks.
    let blocking = s.next_request().expect("in-band request");
    assert_eq!(blocking.id, Some("ib-blocks-1".into()));
    assert!(!blocking.oob);
    s.feed(b"{ 'execute': 'query-name', 'id': 'ib-quick-1' }");
    s.feed(b"{ 'exec-oob': 'migrate-pause', 'id': 'oob-1' }");
    let oob = s
        .next_request()
        .expect("OOB request while the in-band one runs");
    assert_eq!(oob.id, Some("oob-1".into()));
    assert!(oob.oob);
    assert!(
        s.next_request().is_none(),
        "in-band requests run one at a time"
    );
    s.reply_oob(oob.id, Err(qapi::QapiError::generic(MIGRATE_PAUSE_ERROR)));
    // Unblock.
    s.reply(blocking.id, Ok(serde_json::json!({"status": "running"})));
    let quick = s.next_request().expect("the queued in-band request");
    assert_eq!(quick.id, Some("ib-quick-1".into()));
    s.reply(quick.id, Ok(serde_json::json!({})));
    let out = String::from_utf8(s.take_output()).unwrap_or_default();
    assert_eq!(
        out,
        error_line(Some("\"oob-1\""), "GenericError", MIGRATE_PAUSE_ERROR)
            + "{\"return\": {\"status\": \"running\"}, \"id\": \"ib-blocks-1\"}\r\n"
            + "{\"return\": {}, \"id\": \"ib-quick-1\"}\r\n"
    );
}

/// "Malformed in-band command fails in-band": its error waits behind the blocking command.
#[test]
fn malformed_in_band_command_fails_in_band() {
    let mut s = QmpSession::new(SessionConfig {
        pretty: false,
        oob_offered: true,
    });
    s.feed(b"{ 'execute': 'qmp_capabilities', 'arguments': { 'enable': [ 'oob' ] } }");
    s.take_output();
    s.feed(b"{ 'execute': 'query-name', 'id': 'blocks-2' }{ 'id': 'err-2' }");
    let blocking = s.next_request().expect("in-band request");
    assert!(s.take_output().is_empty(), "the error must wait its turn");
    s.reply(blocking.id, Ok(serde_json::json!({})));
    assert_eq!(
        String::from_utf8(s.take_output()).unwrap_or_default(),
        "{\"return\": {}, \"id\": \"blocks-2\"}\r\n".to_owned()
            + &error_line(
                Some("\"err-2\""),
                "GenericError",
                "QMP input lacks member 'execute'"
            )
    );
}
