//! Every row of qmp-reference.md section 1.5 (and the id rows of 1.4), in command mode,
//! with the exact bytes QEMU 10.0.2 sent (transcript t1/t2 and the live test).

use super::harness::{error_line, generic, Client};
use qapi::Command;

/// Sends each input in turn and checks the exact output.
fn run(client: &mut Client, cases: &[(&[u8], &str)]) {
    for (input, expected) in cases {
        let got = client.send(input);
        assert_eq!(got, *expected, "input {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn json_errors_have_no_id() {
    let mut c = Client::negotiated(false);
    run(
        &mut c,
        &[
            (b"{]\n", &generic("JSON parse error, expecting value")),
            (
                b"{\"execute\": }\n",
                &generic("JSON parse error, expecting value"),
            ),
            (
                b"{\"execute\" \"query-name\"}\n",
                &generic("JSON parse error, missing : in object pair"),
            ),
            (
                b"{\"execute\":\"query-name\" \"id\": 1}\n",
                &generic("JSON parse error, expected separator in dict"),
            ),
            (
                b"{1: 2}\n",
                &generic("JSON parse error, key is not a string in object"),
            ),
            (
                b"{\"execute\":\"query-name\",}\n",
                &generic("JSON parse error, expecting value"),
            ),
            (b"[1,]\n", &generic("JSON parse error, expecting value")),
            (
                b"{\"execute\":\"query-name\", \"id\": [1,]}\n",
                &generic("JSON parse error, expecting value"),
            ),
            (
                b"tru\n",
                &generic("JSON parse error, invalid keyword 'tru'"),
            ),
            (
                b"nul\n",
                &generic("JSON parse error, invalid keyword 'nul'"),
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": tru}\n",
                &generic("JSON parse error, invalid keyword 'tru'"),
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"\\x\"}\n",
                &generic("JSON parse error, invalid escape sequence in string"),
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"\\ud800\"}\n",
                &generic("JSON parse error, \\\\ud800 is not a valid Unicode character"),
            ),
            (
                b"{\"execute\":\"query-name\", \"arguments\": {}, \"arguments\": {\"x\":1}}\n",
                &generic("JSON parse error, duplicate key"),
            ),
        ],
    );
}

#[test]
fn lexical_errors_and_recovery() {
    let mut c = Client::negotiated(false);
    let no_such = error_line(
        None,
        "CommandNotFound",
        "The command no-such-cmd has not been found",
    );
    run(
        &mut c,
        &[
            (b"{\xff", &generic("JSON parse error, stray '\\uFFFD'")),
            (b"{'execute': 'no-such-cmd'}", &no_such),
            (b"{\x01", &generic("JSON parse error, stray '\\u0001'")),
            (b"{'execute': 'no-such-cmd'}", &no_such),
            (
                b"{'bad \xff",
                &generic("JSON parse error, stray ''bad \\uFFFD'"),
            ),
            (b"{'execute': 'no-such-cmd'}", &no_such),
            (
                b"{'execute': 'nonexistent', 'id':'\n",
                &generic("JSON parse error, stray ''\\n'"),
            ),
            (b"{'execute': 'no-such-cmd'}", &no_such),
            (b"%%p", &generic("JSON parse error, stray '%'")),
            (b"{'execute': 'no-such-cmd'}", &no_such),
            (b"\x00", &generic("JSON parse error, stray ''")),
            (
                b"{\"execute\":\"query-name\", \"id\": \"after-nul\"}\n",
                "{\"return\": {}, \"id\": \"after-nul\"}\r\n",
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"tab\there\"}\n",
                &(generic("JSON parse error, stray '\\\"tab\\t'")
                    + &generic("JSON parse error, expecting value")),
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": 01}\n",
                &(generic("JSON parse error, stray '01'")
                    + &generic("JSON parse error, expecting value")),
            ),
        ],
    );
}

#[test]
fn non_objects() {
    let mut c = Client::negotiated(false);
    let not_object = generic("QMP input must be a JSON object");
    run(
        &mut c,
        &[
            // A scalar ends only at a delimiter.
            (b"null", ""),
            (b"\n", &not_object),
            (b"42", ""),
            (b"\n", &not_object),
            (b"42 ", &not_object),
            (b"\"str\"", &not_object),
            (b"true\n", &not_object),
            (b"[1,2]\n", &not_object),
        ],
    );
}

#[test]
fn request_shape() {
    let mut c = Client::negotiated(true);
    run(
        &mut c,
        &[
            (b"{}\n", &generic("QMP input lacks member 'execute'")),
            (
                b"{'id': 'err-2'}\n",
                &error_line(
                    Some("\"err-2\""),
                    "GenericError",
                    "QMP input lacks member 'execute'",
                ),
            ),
            (
                b"{'execute': true}\n",
                &generic("QMP input member 'execute' must be a string"),
            ),
            (
                b"{'execute': 'no-such-cmd', 'arguments': []}\n",
                &generic("QMP input member 'arguments' must be an object"),
            ),
            (
                b"{\"execute\":\"query-name\",\"arguments\":null}\n",
                &generic("QMP input member 'arguments' must be an object"),
            ),
            (
                b"{'execute': 'no-such-cmd', 'extra': true}\n",
                &generic("QMP input member 'extra' is unexpected"),
            ),
            (
                b"{'execute': 'query-name', 'extra': true, 'id': 7}\n",
                &error_line(
                    Some("7"),
                    "GenericError",
                    "QMP input member 'extra' is unexpected",
                ),
            ),
            (
                b"{'execute': 'query-name', 'exec-oob': 'query-name'}\n",
                &generic("QMP input member 'execute' clashes with 'exec-oob'"),
            ),
            (
                b"{'exec-oob': 'query-cpus-fast', 'id': 9}\n",
                &error_line(
                    Some("9"),
                    "GenericError",
                    "The command query-cpus-fast does not support OOB",
                ),
            ),
            (
                b"{'exec-oob': 'migrate-pause', 'id': 10}\n",
                &error_line(
                    Some("10"),
                    "GenericError",
                    super::harness::MIGRATE_PAUSE_ERROR,
                ),
            ),
        ],
    );
}

#[test]
fn exec_oob_without_oob_is_unexpected() {
    let mut c = Client::negotiated(false);
    run(
        &mut c,
        &[
            (
                b"{\"exec-oob\":\"query-name\",\"id\":1}\n",
                &error_line(
                    Some("1"),
                    "GenericError",
                    "QMP input member 'exec-oob' is unexpected",
                ),
            ),
            // Also when `execute` is there: no clash without OOB.
            (
                b"{'execute': 'query-name', 'exec-oob': 'query-name'}\n",
                &generic("QMP input member 'exec-oob' is unexpected"),
            ),
        ],
    );
}

#[test]
fn command_and_argument_errors() {
    let mut c = Client::negotiated(false);
    run(
        &mut c,
        &[
            (
                b"{\"execute\":\"no-such-cmd\",\"id\":5}\n",
                &error_line(
                    Some("5"),
                    "CommandNotFound",
                    "The command no-such-cmd has not been found",
                ),
            ),
            (
                b"{'execute': 'human-monitor-command', 'id': 2}\n",
                &error_line(Some("2"), "GenericError", "Parameter 'command-line' is missing"),
            ),
            (
                b"{'execute': 'human-monitor-command', 'arguments': {'command-line': 'info version', 'bogus': 1}}\n",
                &generic("Parameter 'bogus' is unexpected"),
            ),
            (
                b"{'execute': 'human-monitor-command', 'arguments': {'command-line': 5}}\n",
                &generic("Invalid parameter type for 'command-line', expected: string"),
            ),
            (
                b"{'execute': 'qom-set', 'arguments': {'path': '/machine', 'property': 'rtc-time'}}\n",
                &generic("Parameter 'value' is missing"),
            ),
            (
                b"{\"execute\":\"balloon\", \"arguments\": {\"value\": \"x\"}}\n",
                &generic("Invalid parameter type for 'value', expected: integer"),
            ),
            (
                b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}\n",
                &generic("Parameter 'null' does not accept value 'foo'"),
            ),
            (
                b"{\"execute\":\"qmp_capabilities\",\"id\":\"x\"}\n",
                &error_line(
                    Some("\"x\""),
                    "CommandNotFound",
                    "Capabilities negotiation is already complete, command ignored",
                ),
            ),
        ],
    );
}

#[test]
fn range_checks_are_the_machines() {
    // balloon's "expects a size" comes after the device check, so it is not the
    // session's: the request goes to the machine.
    let mut s = crate::qmp::QmpSession::new(crate::qmp::SessionConfig::default());
    s.feed(b"{\"execute\":\"qmp_capabilities\"}");
    s.take_output();
    s.feed(b"{\"execute\":\"balloon\",\"arguments\":{\"value\":0},\"id\":3}");
    let request = s.next_request().expect("balloon goes to the machine");
    assert_eq!(request.id, Some(serde_json::json!(3)));
    assert!(matches!(request.command, Command::Balloon(ref a) if a.value == 0));
    assert!(s.take_output().is_empty());
}

#[test]
fn preconfig_limits_commands() {
    let mut c = Client::negotiated(false);
    c.session.set_machine_ready(false);
    let out = c.send(b"{\"execute\":\"query-cpus-fast\",\"id\":1}");
    assert_eq!(
        out,
        error_line(
            Some("1"),
            "GenericError",
            "The command 'query-cpus-fast' is permitted only after machine initialization has completed"
        )
    );
    assert!(c
        .send(b"{\"execute\":\"query-commands\"}")
        .starts_with("{\"return\": [{\"name\": "));
    assert_eq!(
        c.send(b"{\"execute\":\"query-status\"}"),
        "{\"return\": {\"status\": \"running\", \"running\": true}}\r\n"
    );
    c.session.set_machine_ready(true);
    assert_eq!(
        c.send(b"{\"execute\":\"query-cpus-fast\"}"),
        "{\"return\": []}\r\n"
    );
}

#[test]
fn ids_are_echoed_verbatim() {
    let mut c = Client::negotiated(false);
    let deep = format!("{}{}", "[".repeat(1023), "]".repeat(1023));
    let deep_request = format!("{{\"execute\":\"query-name\",\"id\":{deep}}}");
    let deep_reply = format!("{{\"return\": {{}}, \"id\": {deep}}}\r\n");
    run(
        &mut c,
        &[
            (
                b"{\"execute\":\"query-name\",\"id\":\"cookie#1\"}",
                "{\"return\": {}, \"id\": \"cookie#1\"}\r\n",
            ),
            (
                b"{\"execute\":\"query-version\",\"id\":{\"a\":[1,2]}}\n",
                "{\"return\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"id\": {\"a\": [1, 2]}}\r\n",
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"\\u00e9\\u4e2d\"}\n",
                "{\"return\": {}, \"id\": \"\\u00E9\\u4E2D\"}\r\n",
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"\xc3\xa9\"}\n",
                "{\"return\": {}, \"id\": \"\\u00E9\"}\r\n",
            ),
            (b"{\"execute\":\"query-name\", \"id\": 1.5e3}\n", "{\"return\": {}, \"id\": 1500}\r\n"),
            (
                b"{\"execute\":\"query-name\", \"id\": 18446744073709551615}\n",
                "{\"return\": {}, \"id\": 18446744073709551615}\r\n",
            ),
            (b"{\"execute\":\"query-name\", \"id\": -1}\n", "{\"return\": {}, \"id\": -1}\r\n"),
            (b"{\"execute\":\"query-name\", \"id\": true}\n", "{\"return\": {}, \"id\": true}\r\n"),
            (b"{\"execute\":\"query-name\", \"id\": null}\n", "{\"return\": {}, \"id\": null}\r\n"),
            (b"{\"execute\":\"query-name\", \"id\": 1e400}\n", "{\"return\": {}, \"id\": inf}\r\n"),
            (
                b"{\"execute\":\"query-name\", \"id\": 123456789012345678901234567890}\n",
                "{\"return\": {}, \"id\": 1.2345678901234568e+29}\r\n",
            ),
            (
                b"{\"execute\":\"query-name\", \"id\": \"a\\u0000b\"}\n",
                "{\"return\": {}, \"id\": \"a\\u0000b\"}\r\n",
            ),
            (deep_request.as_bytes(), &deep_reply),
        ],
    );
}

#[test]
fn several_messages_per_read_and_stray_closers() {
    let mut c = Client::negotiated(false);
    run(
        &mut c,
        &[
            (
                b"{\"execute\":\"query-name\"}\r\n{\"execute\":\"query-name\",\"id\":1}{\"execute\":\"query-name\",\"id\":2}",
                "{\"return\": {}}\r\n{\"return\": {}, \"id\": 1}\r\n{\"return\": {}, \"id\": 2}\r\n",
            ),
            (
                b"{\"execute\":\"query-name\"} }\n",
                &("{\"return\": {}}\r\n".to_owned() + &generic("JSON parse error, expecting value")),
            ),
            (
                b"{\"execute\":\"query-name\"} ]\n",
                &("{\"return\": {}}\r\n".to_owned() + &generic("JSON parse error, expecting value")),
            ),
        ],
    );
}

#[test]
fn nesting_limit_then_each_closer_fails() {
    let mut c = Client::negotiated(false);
    let input = format!("{}{}", "[".repeat(1025), "]".repeat(1025));
    let expected = generic("JSON nesting depth limit exceeded")
        + &generic("JSON parse error, expecting value").repeat(1025);
    assert_eq!(c.send(input.as_bytes()), expected);
    assert_eq!(
        c.send(b"{\"execute\":\"query-name\",\"id\":\"ok\"}\n"),
        "{\"return\": {}, \"id\": \"ok\"}\r\n"
    );
}

#[test]
fn events_come_before_the_reply() {
    let mut c = Client::negotiated(false);
    let out = super::harness::zero_timestamps(&c.send(b"{'execute': 'stop'}\n"));
    assert_eq!(
        out,
        "{\"timestamp\": {\"seconds\": 0, \"microseconds\": 0}, \"event\": \"STOP\"}\r\n{\"return\": {}}\r\n"
    );
    assert_eq!(
        c.send(b"{'execute': 'query-status'}"),
        "{\"return\": {\"status\": \"paused\", \"running\": false}}\r\n"
    );
}
