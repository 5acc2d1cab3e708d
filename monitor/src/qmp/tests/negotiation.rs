//! Capabilities negotiation mode (qmp-reference.md section 1.3) and the commands the
//! session answers itself.

use super::harness::{error_line, generic, version, Client};
use crate::qmp::{format_event, QmpSession, SessionConfig};
use std::time::SystemTime;

const EXPECTING: &str = "Expecting capabilities negotiation with 'qmp_capabilities'";

#[test]
fn only_qmp_capabilities_before_negotiation() {
    let mut c = Client::qmp();
    for (input, id) in [
        (&b"{\"execute\":\"query-version\"}\n"[..], None),
        (b"{\"execute\":\"query-version\",\"id\":1}\n", Some("1")),
        (b"{\"execute\":\"no-such-cmd\",\"id\":\"a\"}", Some("\"a\"")),
        // The command is looked up before its arguments are checked.
        (
            b"{\"execute\":\"query-version\",\"arguments\":{\"x\":1}}",
            None,
        ),
        (b"{\"execute\":\"query-commands\"}", None),
        (b"{\"execute\":\"query-qmp-schema\"}", None),
    ] {
        assert_eq!(
            c.send(input),
            error_line(id, "CommandNotFound", EXPECTING),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    // Shape errors stay GenericError.
    assert_eq!(
        c.send(b"{\"exec-oob\":\"qmp_capabilities\",\"id\":1}"),
        error_line(
            Some("1"),
            "GenericError",
            "QMP input member 'exec-oob' is unexpected"
        )
    );
    assert_eq!(
        c.send(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"extra\":1}"
        ),
        generic("QMP input member 'extra' is unexpected")
    );
    assert!(!c.session.is_negotiated());
}

#[test]
fn capability_arguments() {
    for (input, expected) in [
        (
            &b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"}}"[..],
            generic("Invalid parameter type for 'enable', expected: array"),
        ),
        (
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}",
            generic("Parameter 'null' does not accept value 'foo'"),
        ),
        (
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"bogus\":1}}",
            generic("Parameter 'bogus' is unexpected"),
        ),
    ] {
        let mut c = Client::qmp();
        assert_eq!(c.send(input), expected);
        assert!(!c.session.is_negotiated());
    }
    for input in [
        &b"{\"execute\":\"qmp_capabilities\"}"[..],
        b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]}}",
        b"{\"execute\":\"qmp_capabilities\",\"arguments\":{}}",
    ] {
        let mut c = Client::qmp();
        assert_eq!(c.send(input), "{\"return\": {}}\r\n");
        assert!(c.session.is_negotiated());
        assert!(!c.session.oob_enabled());
    }
}

#[test]
fn oob_not_offered() {
    let config = SessionConfig {
        pretty: false,
        oob_offered: false,
    };
    let session = QmpSession::new(config);
    assert_eq!(
        String::from_utf8(session.greeting(&version())).unwrap_or_default(),
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": []}}\r\n"
    );
    let mut c = Client::new(config);
    assert_eq!(
        c.send(b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":1}"),
        error_line(Some("1"), "GenericError", "Capability oob not available")
    );
    assert_eq!(
        c.send(b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\",\"oob\"]}}"),
        generic("Capability oob, oob not available")
    );
    assert!(!c.session.is_negotiated());
    assert_eq!(
        c.send(b"{\"execute\":\"qmp_capabilities\"}"),
        "{\"return\": {}}\r\n"
    );
}

#[test]
fn events_are_dropped_before_negotiation() {
    let mut c = Client::qmp();
    let line = format_event(&qapi::Event::Stop, SystemTime::UNIX_EPOCH);
    assert!(!c.session.event(&line));
    assert!(c.session.take_output().is_empty());
    c.send(b"{\"execute\":\"qmp_capabilities\"}");
    assert!(c.session.event(&line));
    assert_eq!(
        c.session.take_output(),
        b"{\"timestamp\": {\"seconds\": 0, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n"
    );
}

#[test]
fn every_connection_starts_negotiating() {
    let mut first = Client::negotiated(true);
    assert!(first.session.oob_enabled());
    let mut second = Client::qmp();
    assert_eq!(
        second.send(b"{\"execute\":\"query-name\"}"),
        error_line(None, "CommandNotFound", EXPECTING)
    );
    assert_eq!(
        first.send(b"{\"execute\":\"query-name\"}"),
        "{\"return\": {}}\r\n"
    );
}

#[test]
fn introspection_is_answered_by_the_session() {
    let mut s = QmpSession::new(SessionConfig::default());
    s.feed(b"{\"execute\":\"qmp_capabilities\"}");
    s.feed(b"{\"execute\":\"query-commands\",\"id\":1}");
    s.feed(b"{\"execute\":\"query-qmp-schema\",\"id\":2}");
    assert!(s.next_request().is_none());
    let out = String::from_utf8(s.take_output()).unwrap_or_default();
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 3);
    let commands: Vec<String> = qapi::command_info().into_iter().map(|c| c.name).collect();
    let listed = commands
        .iter()
        .map(|name| format!("{{\"name\": \"{name}\"}}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(lines[1], format!("{{\"return\": [{listed}], \"id\": 1}}"));
    assert!(lines[2].starts_with("{\"return\": [{\"name\": \""));
    assert!(lines[2].ends_with("], \"id\": 2}"));
    // Same member order as QEMU's introspection (measured on 10.0.2).
    assert!(lines[2].contains(
        "{\"name\": \"query-status\", \"ret-type\": \"1\", \"meta-type\": \"command\", \"arg-type\": \"0\"}"
    ));
}
