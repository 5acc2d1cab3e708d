//! The QMP wire protocol, end to end: the `vmm` binary is started with real QMP sockets and
//! fed raw bytes; its replies are compared byte for byte with the replies QEMU 10.0.2 gives
//! (recorded in shared/reference/qemu-10.0.2-protocol.txt and hard-coded here), and, where
//! `qemu-system-x86_64` is installed, with a live QEMU fed the very same bytes in the same
//! test (`-nodefaults -machine none`, as QEMU's tests/qtest/qmp-test.c runs it). Timestamps
//! and the version `package` string are masked before comparing.
//!
//! Covers qmp-test.c's qmp/protocol, qmp/oob and qmp/missing-any-arg, every error row of
//! the reference's section 1.5, id echo, framing, parser recovery and limits, flow control,
//! several monitors and clients, and every way of giving a QMP monitor a socket.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tests::process::VmmProcess;
use tests::qmp_client::{is_event, mask, show, QmpClient};
use tests::qmp_harness::{
    connect, free_tcp_port, qemu_or_skip, qmp_arg, start_protocol, start_vmm, Impl, Server,
    TempDir, PROTOCOL_ARGS,
};

/// How long one step waits for each line it expects.
const LINE_TIMEOUT: Duration = Duration::from_secs(5);

// ------------------------------------------------------------------------------------------
// Expected replies (the exact text QEMU writes, without the final "\r\n")

fn generic(desc: &str) -> String {
    format!("{{\"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}")
}

fn generic_id(id: &str, desc: &str) -> String {
    format!("{{\"id\": {id}, \"error\": {{\"class\": \"GenericError\", \"desc\": \"{desc}\"}}}}")
}

fn not_found(id: Option<&str>, desc: &str) -> String {
    match id {
        None => format!("{{\"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"{desc}\"}}}}"),
        Some(id) => format!(
            "{{\"id\": {id}, \"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"{desc}\"}}}}"
        ),
    }
}

fn ok(ret: &str, id: Option<&str>) -> String {
    match id {
        None => format!("{{\"return\": {ret}}}"),
        Some(id) => format!("{{\"return\": {ret}, \"id\": {id}}}"),
    }
}

const NEGOTIATE_FIRST: &str = "Expecting capabilities negotiation with 'qmp_capabilities'";
const EXPECTING_VALUE: &str = "JSON parse error, expecting value";
const NOT_OBJECT: &str = "QMP input must be a JSON object";
const GREETING_MASKED: &str = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"P\"}, \"capabilities\": [\"oob\"]}}";
const STOP_EVENT: &str =
    "{\"timestamp\": {\"seconds\": S, \"microseconds\": U}, \"event\": \"STOP\"}";

// ------------------------------------------------------------------------------------------
// Steps: bytes to send and the lines expected back

#[derive(Clone)]
struct Step {
    send: Vec<u8>,
    expect: Vec<String>,
    /// After the expected lines, send a `query-name` with a fresh id and require that its
    /// reply is the very next line (no extra output, and the parser is back in shape).
    sync: bool,
    /// The input is only complete once more input follows (a top-level scalar needs a
    /// delimiter): read nothing before sending the sync; the expected lines come before its
    /// reply.
    lazy: bool,
}

fn step(send: impl AsRef<[u8]>, expect: &[String]) -> Step {
    Step {
        send: send.as_ref().to_vec(),
        expect: expect.to_vec(),
        sync: true,
        lazy: false,
    }
}

/// A step whose reply only comes once the next message (the sync) delimits it.
fn step_lazy(send: impl AsRef<[u8]>, expect: &[String]) -> Step {
    Step {
        lazy: true,
        ..step(send, expect)
    }
}

/// A step whose input leaves the parser mid-message, so no sync may follow it.
fn step_nosync(send: impl AsRef<[u8]>, expect: &[String]) -> Step {
    Step {
        sync: false,
        ..step(send, expect)
    }
}

/// One line as compared: masked, its `\r\n` removed (a missing `\r\n` is shown).
fn line_text(msg: &[u8]) -> String {
    let text = mask(msg);
    match text.strip_suffix("\r\n") {
        Some(t) => t.to_string(),
        None => format!("{text}<line did not end with \\r\\n>"),
    }
}

/// Runs the steps; returns what each step got (lines before its sync reply).
fn run_steps(c: &mut QmpClient, steps: &[Step]) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        let mut got = Vec::new();
        c.send(&st.send);
        let before_sync = if st.lazy { 0 } else { st.expect.len() };
        for _ in 0..before_sync {
            match c.read_message_timeout(LINE_TIMEOUT) {
                Ok(m) => got.push(line_text(&m)),
                Err(e) => {
                    got.push(format!("<{e}>"));
                    break;
                }
            }
        }
        if st.sync {
            let id = format!("\"id\": \"sync-{i}\"");
            c.send(format!("{{\"execute\":\"query-name\",\"id\":\"sync-{i}\"}}").as_bytes());
            let deadline = Instant::now() + LINE_TIMEOUT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match c.read_message_timeout(left) {
                    Ok(m) if line_text(&m).contains(&id) => break,
                    Ok(m) => got.push(line_text(&m)),
                    Err(e) => {
                        got.push(format!("<sync reply missing: {e}>"));
                        // Get back in step: resynchronise and wait for a fresh id.
                        c.send(b"\x01");
                        c.send(b"{\"execute\":\"query-name\",\"id\":\"resync\"}");
                        let until = Instant::now() + LINE_TIMEOUT;
                        while let Ok(m) =
                            c.read_message_timeout(until.saturating_duration_since(Instant::now()))
                        {
                            if line_text(&m).contains("\"id\": \"resync\"") {
                                break;
                            }
                        }
                        break;
                    }
                }
            }
        }
        all.push(got);
    }
    all
}

/// How a test's connection starts.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Greeting read, still in capabilities negotiation.
    Negotiation,
    /// `qmp_capabilities` done.
    Command,
    /// `qmp_capabilities` with `enable: ["oob"]` done.
    Oob,
}

fn open(server: &Server, mode: Mode) -> QmpClient {
    let mut c = server.connect();
    c.timeout = LINE_TIMEOUT;
    c.greeting();
    match mode {
        Mode::Negotiation => {}
        Mode::Command => {
            let r = c.command(b"{\"execute\":\"qmp_capabilities\"}");
            assert_eq!(line_text(&r), ok("{}", None));
        }
        Mode::Oob => {
            let r = c.command(
                b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
            );
            assert_eq!(line_text(&r), ok("{}", None));
        }
    }
    c
}

/// Runs `steps` on the VMM (and on QEMU when installed) and fails listing every step where
/// the VMM differs from the expected bytes or from QEMU (and where QEMU differs from the
/// table, which would mean the table is wrong).
fn check_steps(test: &str, mode: Mode, steps: &[Step]) {
    let vmm = start_protocol(Impl::Vmm, None, test);
    let mut c = open(&vmm, mode);
    let ours = run_steps(&mut c, steps);
    drop(c);
    let qemu_path = qemu_or_skip(test);
    let theirs = qemu_path.as_deref().map(|q| {
        let qemu = start_protocol(Impl::Qemu, Some(q), test);
        let mut c = open(&qemu, mode);
        run_steps(&mut c, steps)
    });
    let mut report = String::new();
    for (i, st) in steps.iter().enumerate() {
        let vmm_ok = ours[i] == st.expect;
        let qemu_got = theirs.as_ref().map(|t| &t[i]);
        let same_as_qemu = qemu_got.is_none_or(|q| *q == ours[i]);
        let table_ok = qemu_got.is_none_or(|q| *q == st.expect);
        if vmm_ok && same_as_qemu && table_ok {
            continue;
        }
        report.push_str(&format!("\nstep {i}: sent {}\n", show(&st.send)));
        report.push_str(&format!("  expected: {:#?}\n", st.expect));
        report.push_str(&format!("  vmm got:  {:#?}\n", ours[i]));
        if let Some(q) = qemu_got {
            report.push_str(&format!("  qemu got: {q:#?}\n"));
            if !table_ok {
                report.push_str("  (QEMU differs from the expectation table)\n");
            }
        }
    }
    assert!(report.is_empty(), "{test}: mismatches:{report}");
}

// ------------------------------------------------------------------------------------------
// Greeting and negotiation

#[test]
fn greeting_bytes_are_qemus() {
    let vmm = start_protocol(Impl::Vmm, None, "greet");
    let mut c = vmm.connect();
    let g = c.greeting();
    assert_eq!(line_text(&g), GREETING_MASKED, "raw: {}", show(&g));
    // The version in the greeting is exactly query-version's reply.
    c.negotiate_after_greeting();
    let v = c.command(b"{\"execute\":\"query-version\"}");
    let g_text = String::from_utf8_lossy(&g).to_string();
    let version = g_text
        .strip_prefix("{\"QMP\": {\"version\": ")
        .and_then(|s| s.strip_suffix(", \"capabilities\": [\"oob\"]}}\r\n"))
        .expect("greeting shape");
    assert_eq!(
        String::from_utf8_lossy(&v),
        format!("{{\"return\": {version}}}\r\n")
    );
    if let Some(q) = qemu_or_skip("greeting_bytes_are_qemus") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "greetq");
        let mut qc = qemu.connect();
        let qg = qc.greeting();
        assert_eq!(line_text(&g), line_text(&qg));
    }
}

/// A little extension for the greeting test.
trait AfterGreeting {
    fn negotiate_after_greeting(&mut self);
}

impl AfterGreeting for QmpClient {
    fn negotiate_after_greeting(&mut self) {
        let r = self.command(b"{\"execute\":\"qmp_capabilities\"}");
        assert_eq!(line_text(&r), ok("{}", None));
    }
}

/// qmp-test.c `test_malformed()`: each case must be a GenericError (never the
/// CommandNotFound rewrite, even in negotiation mode); after the first six (lexical errors)
/// `assert_recovered` sends `{ 'execute': 'no-such-cmd' }` and expects CommandNotFound.
fn malformed_steps(negotiating: bool) -> Vec<Step> {
    let recovered = if negotiating {
        not_found(None, NEGOTIATE_FIRST)
    } else {
        not_found(None, "The command no-such-cmd has not been found")
    };
    let probe = |s: Vec<Step>| -> Vec<Step> {
        let mut s = s;
        s.push(step(
            b"{ 'execute': 'no-such-cmd' }",
            std::slice::from_ref(&recovered),
        ));
        s
    };
    let mut v = Vec::new();
    v.extend(probe(vec![step(b"{]\n", &[generic(EXPECTING_VALUE)])]));
    v.extend(probe(vec![step(
        b"{\xff",
        &[generic("JSON parse error, stray '\\uFFFD'")],
    )]));
    v.extend(probe(vec![step(
        b"{\x01",
        &[generic("JSON parse error, stray '\\u0001'")],
    )]));
    v.extend(probe(vec![step(
        b"{'bad \xff",
        &[generic("JSON parse error, stray ''bad \\uFFFD'")],
    )]));
    v.extend(probe(vec![step(
        b"{'execute': 'nonexistent', 'id':'\n",
        &[generic("JSON parse error, stray ''\\n'")],
    )]));
    // qtest_qmp_send_raw() is printf-like: "%%p" puts "%p" on the wire.
    v.extend(probe(vec![step(
        b"%p",
        &[generic("JSON parse error, stray '%'")],
    )]));
    // A bare keyword is complete only when a delimiter follows (here: the next message).
    v.push(step_lazy(b"null", &[generic(NOT_OBJECT)]));
    v.push(step(b"{}", &[generic("QMP input lacks member 'execute'")]));
    v.push(step(
        b"{ 'execute': true }",
        &[generic("QMP input member 'execute' must be a string")],
    ));
    v.push(step(
        b"{ 'execute': 'no-such-cmd', 'arguments': [] }",
        &[generic("QMP input member 'arguments' must be an object")],
    ));
    v.push(step(
        b"{ 'execute': 'no-such-cmd', 'extra': true }",
        &[generic("QMP input member 'extra' is unexpected")],
    ));
    v
}

/// qmp-test.c qmp/protocol, in order, as one session.
#[test]
fn qmp_test_protocol() {
    let mut steps = vec![step(
        b"{ 'execute': 'query-version' }",
        &[not_found(None, NEGOTIATE_FIRST)],
    )];
    steps.extend(malformed_steps(true));
    steps.push(step(
        b"{ 'execute': 'qmp_capabilities' }",
        &[ok("{}", None)],
    ));
    steps.push(step(
        b"{ 'execute': 'qmp_capabilities' }",
        &[not_found(
            None,
            "Capabilities negotiation is already complete, command ignored",
        )],
    ));
    steps.push(step(
        b"{ 'execute': 'query-version' }",
        &[ok(
            "{\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"P\"}",
            None,
        )],
    ));
    steps.extend(malformed_steps(false));
    steps.push(step(
        b"{ 'execute': 'query-name', 'id': 'cookie#1' }",
        &[ok("{}", Some("\"cookie#1\""))],
    ));
    steps.push(step(
        b"{ 'execute': 'human-monitor-command', 'id': 2 }",
        &[generic_id("2", "Parameter 'command-line' is missing")],
    ));
    check_steps("qmp_test_protocol", Mode::Negotiation, &steps);
}

/// Negotiation mode: every command, valid or not, gets the rewritten CommandNotFound (with
/// the id when there is one); the `enable` argument is checked like any other.
#[test]
fn negotiation_mode_and_capabilities_arguments() {
    let steps = vec![
        step(
            b"{\"execute\":\"query-version\"}\n",
            &[not_found(None, NEGOTIATE_FIRST)],
        ),
        step(
            b"{\"execute\":\"query-version\",\"id\":1}\n",
            &[not_found(Some("1"), NEGOTIATE_FIRST)],
        ),
        step(
            b"{\"execute\":\"no-such-cmd\",\"id\":\"a\"}",
            &[not_found(Some("\"a\""), NEGOTIATE_FIRST)],
        ),
        step(
            b"{\"execute\":\"stop\"}",
            &[not_found(None, NEGOTIATE_FIRST)],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"}}",
            &[generic(
                "Invalid parameter type for 'enable', expected: array",
            )],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}",
            &[generic("Parameter 'null' does not accept value 'foo'")],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"bogus\":1},\"id\":3}",
            &[generic_id("3", "Parameter 'bogus' is unexpected")],
        ),
        // Parse errors are not rewritten either.
        step(b"{\"execute\": }\n", &[generic(EXPECTING_VALUE)]),
        step(
            b"{\"exec-oob\":\"query-name\",\"id\":4}",
            &[generic_id("4", "QMP input member 'exec-oob' is unexpected")],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]},\"id\":\"neg\"}",
            &[ok("{}", Some("\"neg\""))],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"id\":\"x\"}\n",
            &[not_found(
                Some("\"x\""),
                "Capabilities negotiation is already complete, command ignored",
            )],
        ),
        // enable:[] did not enable OOB.
        step(
            b"{\"exec-oob\":\"query-name\",\"id\":2}\n",
            &[generic_id("2", "QMP input member 'exec-oob' is unexpected")],
        ),
        step(
            b"{\"execute\":\"query-status\"}",
            &[ok("{\"status\": \"running\", \"running\": true}", None)],
        ),
    ];
    check_steps(
        "negotiation_mode_and_capabilities_arguments",
        Mode::Negotiation,
        &steps,
    );
}

/// Every error row of the reference's section 1.5 (command mode), with its exact bytes.
#[test]
fn error_rows_of_section_1_5() {
    let hmp_missing = "Parameter 'command-line' is missing";
    let steps = vec![
        step(
            b"{\"execute\":\"no-such-cmd\",\"id\":5}\n",
            &[not_found(
                Some("5"),
                "The command no-such-cmd has not been found",
            )],
        ),
        step(b"{]\n", &[generic(EXPECTING_VALUE)]),
        step(b"{\"execute\": }\n", &[generic(EXPECTING_VALUE)]),
        step(
            b"{\"execute\" \"query-name\"}\n",
            &[generic("JSON parse error, missing : in object pair")],
        ),
        step(
            b"{\"execute\":\"query-name\" \"id\": 1}\n",
            &[generic("JSON parse error, expected separator in dict")],
        ),
        step(
            b"{1: 2}\n",
            &[generic("JSON parse error, key is not a string in object")],
        ),
        step(b"{\"execute\":\"query-name\",}\n", &[generic(EXPECTING_VALUE)]),
        step(
            b"{\"execute\":\"query-name\", \"id\": [1,]}\n",
            &[generic(EXPECTING_VALUE)],
        ),
        step(b"[1,]\n", &[generic(EXPECTING_VALUE)]),
        step(
            b"{\"execute\":\"query-name\", \"id\": tru}\n",
            &[generic("JSON parse error, invalid keyword 'tru'")],
        ),
        step(
            b"nul\n",
            &[generic("JSON parse error, invalid keyword 'nul'")],
        ),
        step(
            b"{\"execute\":\"query-name\", \"id\": \"\\x\"}\n",
            &[generic("JSON parse error, invalid escape sequence in string")],
        ),
        step(
            b"{\"execute\":\"query-name\", \"id\": \"\\ud800\"}\n",
            &[generic(
                "JSON parse error, \\\\ud800 is not a valid Unicode character",
            )],
        ),
        step(b"{\xff", &[generic("JSON parse error, stray '\\uFFFD'")]),
        step(b"{\x01", &[generic("JSON parse error, stray '\\u0001'")]),
        step(
            b"{'bad \xff",
            &[generic("JSON parse error, stray ''bad \\uFFFD'")],
        ),
        step(
            b"{'execute': 'nonexistent', 'id':'\n",
            &[generic("JSON parse error, stray ''\\n'")],
        ),
        step(
            b"{\"execute\":\"query-name\", \"id\": \"tab\there\"}\n",
            &[
                generic("JSON parse error, stray '\\\"tab\\t'"),
                generic(EXPECTING_VALUE),
            ],
        ),
        step(
            b"{\"execute\":\"query-name\", \"id\": 01}\n",
            &[generic("JSON parse error, stray '01'"), generic(EXPECTING_VALUE)],
        ),
        step(b"\x00", &[generic("JSON parse error, stray ''")]),
        step(b"%%p", &[generic("JSON parse error, stray '%'")]),
        step(b"null\n", &[generic(NOT_OBJECT)]),
        step(b"42 ", &[generic(NOT_OBJECT)]),
        step(b"\"str\"", &[generic(NOT_OBJECT)]),
        step(b"true\n", &[generic(NOT_OBJECT)]),
        step(b"[1,2]\n", &[generic(NOT_OBJECT)]),
        step(b"{}\n", &[generic("QMP input lacks member 'execute'")]),
        step(
            b"{'id': 'err-2'}\n",
            &[generic_id("\"err-2\"", "QMP input lacks member 'execute'")],
        ),
        step(
            b"{'execute': true}\n",
            &[generic("QMP input member 'execute' must be a string")],
        ),
        step(
            b"{'execute': 'no-such-cmd', 'arguments': []}\n",
            &[generic("QMP input member 'arguments' must be an object")],
        ),
        step(
            b"{\"execute\":\"query-name\",\"arguments\":null}\n",
            &[generic("QMP input member 'arguments' must be an object")],
        ),
        step(
            b"{'execute': 'no-such-cmd', 'extra': true}\n",
            &[generic("QMP input member 'extra' is unexpected")],
        ),
        step(
            b"{'execute': 'query-name', 'extra': true, 'id': 7}\n",
            &[generic_id("7", "QMP input member 'extra' is unexpected")],
        ),
        step(
            b"{\"exec-oob\":\"query-name\",\"id\":1}\n",
            &[generic_id("1", "QMP input member 'exec-oob' is unexpected")],
        ),
        step(
            b"{'execute': 'query-name', 'exec-oob': 'query-name'}\n",
            &[generic("QMP input member 'exec-oob' is unexpected")],
        ),
        step(
            b"{'execute': 'human-monitor-command', 'id': 2}\n",
            &[generic_id("2", hmp_missing)],
        ),
        step(
            b"{'execute': 'human-monitor-command', 'arguments': {'command-line': 'info version', 'bogus': 1}}\n",
            &[generic("Parameter 'bogus' is unexpected")],
        ),
        step(
            b"{'execute': 'human-monitor-command', 'arguments': {'command-line': 5}}\n",
            &[generic(
                "Invalid parameter type for 'command-line', expected: string",
            )],
        ),
        step(
            b"{\"execute\":\"balloon\", \"arguments\": {\"value\": \"x\"}}\n",
            &[generic("Invalid parameter type for 'value', expected: integer")],
        ),
        step(
            b"{\"execute\":\"query-machines\",\"arguments\":{\"compat-props\":1}}",
            &[generic(
                "Invalid parameter type for 'compat-props', expected: boolean",
            )],
        ),
        step(
            b"{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":\"x\"}}",
            &[generic("Invalid parameter type for 'fdset-id', expected: integer")],
        ),
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"}}\n",
            &[generic("Invalid parameter type for 'enable', expected: array")],
        ),
        // Enum values: list elements have no name ("null"); union discriminators keep theirs.
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"foo\"]}}\n",
            &[generic("Parameter 'null' does not accept value 'foo'")],
        ),
        step(
            b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[{\"type\":\"foo\"}]}}",
            &[generic("Parameter 'type' does not accept value 'foo'")],
        ),
        // Nested names: dotted, list elements as [N].
        step(
            b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[{\"type\":\"chardev\"}]}}",
            &[generic("Parameter 'instances[0].id' is missing")],
        ),
        step(
            b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[{\"type\":\"chardev\",\"id\":1}]}}",
            &[generic(
                "Invalid parameter type for 'instances[0].id', expected: string",
            )],
        ),
        step(
            b"{\"execute\":\"query-name\", \"arguments\": {}, \"arguments\": {\"x\":1}}\n",
            &[generic("JSON parse error, duplicate key")],
        ),
        step(
            b"{\"execute\":\"query-cpus-fast\",\"arguments\":{\"x\":1}}\n",
            &[generic("Parameter 'x' is unexpected")],
        ),
        step(
            b"{\"execute\":\"gva2gpa\"}\n",
            &[not_found(None, "The command gva2gpa has not been found")],
        ),
        // Balloon: no device is DeviceNotActive, checked before the value.
        step(
            b"{\"execute\":\"balloon\", \"arguments\": {\"value\": 1073741824}}\n",
            &[
                "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}}"
                    .to_string(),
            ],
        ),
        step(
            b"{\"execute\":\"balloon\", \"arguments\": {\"value\": 0}}\n",
            &[
                "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}}"
                    .to_string(),
            ],
        ),
        step(
            b"{\"execute\":\"query-balloon\"}\n",
            &[
                "{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}}"
                    .to_string(),
            ],
        ),
        // Stray closing brackets after a complete message: each is its own error.
        step(
            b"{\"execute\":\"query-name\"} }\n",
            &[ok("{}", None), generic(EXPECTING_VALUE)],
        ),
        step(
            b"{\"execute\":\"query-name\"} ]\n",
            &[ok("{}", None), generic(EXPECTING_VALUE)],
        ),
        step(
            b"{\"execute\":\"query-name\"} ]]}\n",
            &[
                ok("{}", None),
                generic(EXPECTING_VALUE),
                generic(EXPECTING_VALUE),
                generic(EXPECTING_VALUE),
            ],
        ),
    ];
    check_steps("error_rows_of_section_1_5", Mode::Command, &steps);
}

/// The missing-argument check of qmp-test's qmp/missing-any-arg.
#[test]
fn qmp_test_missing_any_arg() {
    let steps = vec![step(
        b"{'execute': 'qom-set', 'arguments': {'path': '/machine', 'property': 'rtc-time'}}\n",
        &[generic("Parameter 'value' is missing")],
    )];
    check_steps("qmp_test_missing_any_arg", Mode::Command, &steps);
}

// ------------------------------------------------------------------------------------------
// ids and output encoding

#[test]
fn id_is_echoed_for_every_kind_of_json_value() {
    let q = |id: &str| format!("{{\"execute\":\"query-name\", \"id\": {id}}}\n");
    let r = |id: &str| ok("{}", Some(id));
    let deep = format!("{}{}", "[".repeat(1023), "]".repeat(1023));
    let cases: Vec<(String, String)> = vec![
        ("\"cookie#1\"".into(), "\"cookie#1\"".into()),
        ("'single'".into(), "\"single\"".into()),
        ("'it\\'s'".into(), "\"it's\"".into()),
        ("\"__qmp#00000\"".into(), "\"__qmp#00000\"".into()),
        ("\"libvirt-489\"".into(), "\"libvirt-489\"".into()),
        ("0".into(), "0".into()),
        ("5".into(), "5".into()),
        ("-1".into(), "-1".into()),
        ("9223372036854775807".into(), "9223372036854775807".into()),
        ("-9223372036854775808".into(), "-9223372036854775808".into()),
        ("18446744073709551615".into(), "18446744073709551615".into()),
        (
            "18446744073709551616".into(),
            "1.8446744073709552e+19".into(),
        ),
        (
            "123456789012345678901234567890".into(),
            "1.2345678901234568e+29".into(),
        ),
        (
            "-9223372036854775809".into(),
            "-9.2233720368547758e+18".into(),
        ),
        ("1.5e3".into(), "1500".into()),
        ("1E2".into(), "100".into()),
        ("0.1".into(), "0.10000000000000001".into()),
        ("-0.0".into(), "-0".into()),
        ("1e-5".into(), "1.0000000000000001e-05".into()),
        ("1e400".into(), "inf".into()),
        ("-1e400".into(), "-inf".into()),
        ("true".into(), "true".into()),
        ("false".into(), "false".into()),
        ("null".into(), "null".into()),
        (
            "{\"a\":[1,2],\"b\":{}}".into(),
            "{\"a\": [1, 2], \"b\": {}}".into(),
        ),
        ("[]".into(), "[]".into()),
        ("{}".into(), "{}".into()),
        (
            "[1,\"x\",[null,{\"k\":false}]]".into(),
            "[1, \"x\", [null, {\"k\": false}]]".into(),
        ),
        (deep.clone(), deep.replace("][", "], [")),
        // Output is ASCII: \uXXXX with upper-case hex, surrogate pairs beyond the BMP.
        ("\"\\u00e9\\u4e2d\"".into(), "\"\\u00E9\\u4E2D\"".into()),
        ("\"\u{e9}\"".into(), "\"\\u00E9\"".into()),
        ("\"\u{1F600}\"".into(), "\"\\uD83D\\uDE00\"".into()),
        ("\"\\ud83d\\ude00\"".into(), "\"\\uD83D\\uDE00\"".into()),
        ("\"a\\u0000b\"".into(), "\"a\\u0000b\"".into()),
        (
            "\"/\\/\\b\\f\\n\\r\\t\\\"\\\\\"".into(),
            "\"//\\b\\f\\n\\r\\t\\\"\\\\\"".into(),
        ),
        ("\"\\u001f\\u007f\"".into(), "\"\\u001F\\u007F\"".into()),
        ("\"\x7f\"".into(), "\"\\u007F\"".into()),
    ];
    let steps: Vec<Step> = cases.iter().map(|(i, o)| step(q(i), &[r(o)])).collect();
    check_steps(
        "id_is_echoed_for_every_kind_of_json_value",
        Mode::Command,
        &steps,
    );
}

/// The id is echoed on dispatch errors, and not on parse errors or non-objects.
#[test]
fn id_on_errors() {
    let steps = vec![
        step(
            b"{\"id\": {\"n\": [1]}, \"execute\": \"no-such\"}",
            &[not_found(
                Some("{\"n\": [1]}"),
                "The command no-such has not been found",
            )],
        ),
        step(
            b"{\"id\": null, \"execute\": 1}",
            &[generic_id(
                "null",
                "QMP input member 'execute' must be a string",
            )],
        ),
        step(
            b"{\"id\": \"p\", \"execute\": \"query-name\", \"x\": 1 \"y\": 2}",
            &[generic("JSON parse error, expected separator in dict")],
        ),
        step(
            b"[{\"id\": 1, \"execute\": \"query-name\"}]",
            &[generic(NOT_OBJECT)],
        ),
        step(
            b"{\"id\": 1, \"execute\": \"query-name\", \"arguments\": 3}",
            &[generic_id(
                "1",
                "QMP input member 'arguments' must be an object",
            )],
        ),
    ];
    check_steps("id_on_errors", Mode::Command, &steps);
}

// ------------------------------------------------------------------------------------------
// Framing: input is a stream, not lines

#[test]
fn messages_split_across_writes_and_concatenated_in_one() {
    let steps = vec![
        // Several messages in one write, separated by \r\n or nothing.
        step(
            b"{\"execute\":\"query-name\"}\r\n{\"execute\":\"query-name\",\"id\":1}{\"execute\":\"query-name\",\"id\":2}",
            &[ok("{}", None), ok("{}", Some("1")), ok("{}", Some("2"))],
        ),
        // Split in the middle of a key, then of a string, then of a number.
        step_nosync(b"{\"exe", &[]),
        step_nosync(b"cute\": \"query-na", &[]),
        step_nosync(b"me\", \"id\": 12", &[]),
        step(b"34}", &[ok("{}", Some("1234"))]),
        // Whitespace of every accepted kind between tokens.
        step(
            b" \t\r\n{ \t\r\n\"execute\" \t\r\n: \t\r\n\"query-name\" \t\r\n} \t\r\n",
            &[ok("{}", None)],
        ),
        // A message and half of the next.
        step_nosync(
            b"{\"execute\":\"query-name\",\"id\":\"a\"}{\"execute\":\"query-",
            &[ok("{}", Some("\"a\""))],
        ),
        step(b"name\",\"id\":\"b\"}", &[ok("{}", Some("\"b\""))]),
    ];
    check_steps(
        "messages_split_across_writes_and_concatenated_in_one",
        Mode::Command,
        &steps,
    );
}

/// Byte by byte, one write each: the reply comes after the closing brace and not before.
#[test]
fn message_sent_one_byte_per_write() {
    let vmm = start_protocol(Impl::Vmm, None, "bytewise");
    let mut c = open(&vmm, Mode::Command);
    let msg = b"{\"execute\":\"query-status\",\"id\":\"one-by-one\"}";
    for &b in &msg[..msg.len() - 1] {
        c.send(&[b]);
    }
    let early = c.read_for(Duration::from_millis(300));
    assert!(
        early.is_empty(),
        "reply before the message ended: {}",
        show(&early)
    );
    c.send(b"}");
    let r = c.reply();
    assert_eq!(
        line_text(&r),
        ok(
            "{\"status\": \"running\", \"running\": true}",
            Some("\"one-by-one\"")
        )
    );
}

/// qemu.qmp sends each message with no newline at all; a top-level scalar, by contrast,
/// needs a delimiter after it before it is parsed.
#[test]
fn no_newline_input_as_qemu_qmp_sends_it() {
    let steps = vec![
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
            &[ok("{}", None)],
        ),
        step(
            b"{\"execute\":\"query-status\",\"id\":\"__qmp#00000\"}",
            &[ok(
                "{\"status\": \"running\", \"running\": true}",
                Some("\"__qmp#00000\""),
            )],
        ),
        step(
            b"{\"execute\":\"query-name\",\"id\":\"__qmp#00001\"}",
            &[ok("{}", Some("\"__qmp#00001\""))],
        ),
        // "42" alone: nothing until the next byte; the sync's "{" then delimits it.
        step_lazy(b"42", &[generic(NOT_OBJECT)]),
        step_nosync(b"null", &[]),
        step(b"\n", &[generic(NOT_OBJECT)]),
        // A string is complete at its closing quote.
        step(b"\"s\"", &[generic(NOT_OBJECT)]),
    ];
    check_steps(
        "no_newline_input_as_qemu_qmp_sends_it",
        Mode::Negotiation,
        &steps,
    );
}

/// After a lexical error the lexer skips to a structural or control character; `\x01`
/// (what qmp-spec tells clients to send) resynchronises silently there, but is itself an
/// error when the lexer is in step.
#[test]
fn parse_error_recovery_with_a_control_character() {
    let steps = vec![
        // An error in the middle of a message, the rest of it skipped up to \x01.
        // (\x01 ends the skipping and is then lexed itself: one more error.)
        step(
            b"{\"execute\": \"query-name\", \"id\": \xff garbage 'unterminated \x01",
            &[
                generic("JSON parse error, stray '\\uFFFD'"),
                generic("JSON parse error, stray '\\u0001'"),
            ],
        ),
        // \x01 while in step: an error of its own.
        step(b"\x01", &[generic("JSON parse error, stray '\\u0001'")]),
        // Half a message, then \x01: the half is dropped with an error.
        step(
            b"{\"execute\": \"query-na\x01",
            &[generic("JSON parse error, stray '\\\"query-na\\u0001'")],
        ),
        step(
            b"{\"execute\": \"query-name\", \"id\": [1, 2, \x01",
            &[generic("JSON parse error, stray '\\u0001'")],
        ),
        // Old clients' 0xff resync.
        step(
            b"{\"execute\": \"query-name\" \xff",
            &[generic("JSON parse error, stray '\\uFFFD'")],
        ),
        step(
            b"{\"execute\":\"query-name\",\"id\":\"after\"}",
            &[ok("{}", Some("\"after\""))],
        ),
        // An error, junk with no structural character, then \x01 and a command.
        step(
            b"@@@ junk junk \x01{\"execute\":\"query-name\",\"id\":\"x\"}",
            &[
                generic("JSON parse error, stray '@'"),
                generic("JSON parse error, stray '\\u0001'"),
                ok("{}", Some("\"x\"")),
            ],
        ),
    ];
    check_steps(
        "parse_error_recovery_with_a_control_character",
        Mode::Command,
        &steps,
    );
}

// ------------------------------------------------------------------------------------------
// Parser limits

#[test]
fn nesting_depth_1024_is_accepted_and_1025_is_an_error() {
    // Depth 1024 counting the enclosing object: accepted.
    let ok_msg = format!(
        "{{\"execute\":\"query-name\",\"id\":{}{}}}",
        "[".repeat(1023),
        "]".repeat(1023)
    );
    // 1025 brackets: the error, then every following "]" is parsed as new input.
    let mut bad = "[".repeat(1025);
    bad.push_str(&"]".repeat(1025));
    let mut bad_expect = vec![generic("JSON nesting depth limit exceeded")];
    bad_expect.extend(std::iter::repeat_n(generic(EXPECTING_VALUE), 1025));
    // The same inside a message: depth 1025 reached by the id.
    let bad_in_msg = format!(
        "{{\"execute\":\"query-name\",\"id\":{}{}}}",
        "[".repeat(1024),
        "]".repeat(1024)
    );
    let mut bad_in_msg_expect = vec![generic("JSON nesting depth limit exceeded")];
    bad_in_msg_expect.extend(std::iter::repeat_n(generic(EXPECTING_VALUE), 1025));
    let steps = vec![
        step(
            ok_msg.as_bytes(),
            &[ok(
                "{}",
                Some(&format!("{}{}", "[".repeat(1023), "]".repeat(1023))),
            )],
        ),
        step(bad.as_bytes(), &bad_expect),
        step(bad_in_msg.as_bytes(), &bad_in_msg_expect),
        step(
            b"{\"execute\":\"query-name\",\"id\":\"ok\"}\n",
            &[ok("{}", Some("\"ok\""))],
        ),
    ];
    check_steps(
        "nesting_depth_1024_is_accepted_and_1025_is_an_error",
        Mode::Command,
        &steps,
    );
}

/// MAX_TOKEN_COUNT (2 Mi tokens per message). QEMU reads its monitor one byte per read, so
/// this ~2 MiB message costs it several seconds; it is still compared.
#[test]
fn token_count_limit() {
    let mut msg = String::from("{\"execute\":\"query-name\",\"id\":[");
    msg.push_str(&"1,".repeat(1 << 20));
    msg.push_str("1]}");
    let mut expect = vec![generic("JSON token count limit exceeded")];
    // What is left of the message after the limit is parsed as new input.
    expect.extend([
        generic(EXPECTING_VALUE),
        generic(NOT_OBJECT),
        generic(EXPECTING_VALUE),
        generic(NOT_OBJECT),
        generic(EXPECTING_VALUE),
        generic(NOT_OBJECT),
        generic(EXPECTING_VALUE),
        generic(NOT_OBJECT),
        generic(EXPECTING_VALUE),
        generic(EXPECTING_VALUE),
    ]);
    check_steps(
        "token_count_limit",
        Mode::Command,
        &[step(msg.as_bytes(), &expect)],
    );
    // Just under the limit: accepted (VMM only, to keep QEMU's byte-at-a-time reading out of
    // the test's time).
    let mut fits = String::from("{\"execute\":\"query-name\",\"id\":[");
    fits.push_str(&"1,".repeat((1 << 20) - 8));
    fits.push_str("1]}");
    let fits_id = format!("[{}1]", "1, ".repeat((1 << 20) - 8));
    let vmm = start_protocol(Impl::Vmm, None, "tokfits");
    let mut c = open(&vmm, Mode::Command);
    let got = run_steps(
        &mut c,
        &[step(fits.as_bytes(), &[ok("{}", Some(&fits_id))])],
    );
    assert!(
        got[0] == [ok("{}", Some(&fits_id))],
        "a message just under the token limit was not accepted: {:.300?}",
        got[0]
    );
}

/// MAX_TOKEN_SIZE (64 MiB). Not compared live: QEMU reads one byte per read() and would take
/// minutes; the expected first reply is the reference's text.
#[test]
fn token_size_limit() {
    let vmm = start_protocol(Impl::Vmm, None, "toksize");
    let mut c = open(&vmm, Mode::Command);
    let mut msg = Vec::with_capacity((64 << 20) + 64);
    msg.extend_from_slice(b"{\"execute\":\"query-name\",\"id\":\"");
    msg.resize(msg.len() + (64 << 20) + 1, b'a');
    msg.extend_from_slice(b"\"}");
    // Write from a thread: the server answers while we are still writing.
    let mut writer = match &c.unix_stream() {
        Some(s) => s.try_clone().expect("clone the socket"),
        None => unreachable!(),
    };
    let t = std::thread::spawn(move || {
        use std::io::Write;
        writer.write_all(&msg).expect("write 64 MiB");
    });
    let first = c
        .read_message_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| c.fail(&format!("no reply to a 64 MiB token: {e}")));
    assert_eq!(line_text(&first), generic("JSON token size limit exceeded"));
    t.join().expect("writer");
    // Whatever the tail of the message produces, \x01 and a command get through.
    c.send(b"\x01{\"execute\":\"query-name\",\"id\":\"after-limit\"}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = c
            .read_message_timeout(left)
            .unwrap_or_else(|e| c.fail(&format!("no recovery after the size limit: {e}")));
        let t = line_text(&m);
        if t == ok("{}", Some("\"after-limit\"")) {
            break;
        }
        assert!(
            t.starts_with("{\"error\": {\"class\": \"GenericError\""),
            "{t}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Out-of-band execution

#[test]
fn exec_oob_before_and_after_enabling_oob() {
    let migrate_pause = "migrate-pause is currently only supported during postcopy-active or postcopy-recover state";
    let steps = vec![
        // qmp-test qmp/oob 2: an unknown capability is an error.
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"cap-does-not-exist\"]}}",
            &[generic(
                "Parameter 'null' does not accept value 'cap-does-not-exist'",
            )],
        ),
        // Before OOB is enabled exec-oob is an unexpected member.
        step(
            b"{\"exec-oob\":\"migrate-pause\",\"id\":10}",
            &[generic_id("10", "QMP input member 'exec-oob' is unexpected")],
        ),
        // qmp/oob 3.
        step(
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
            &[ok("{}", None)],
        ),
        // qmp/oob 4 and the reference's rows.
        step(
            b"{'exec-oob': 'query-cpus-fast', 'id': 9}\n",
            &[generic_id("9", "The command query-cpus-fast does not support OOB")],
        ),
        step(
            b"{'exec-oob': 'query-cpus-fast'}",
            &[generic("The command query-cpus-fast does not support OOB")],
        ),
        step(
            b"{'exec-oob': 'migrate-pause', 'id': 10}\n",
            &[generic_id("10", migrate_pause)],
        ),
        step(
            b"{'execute': 'query-name', 'exec-oob': 'query-name'}\n",
            &[generic("QMP input member 'execute' clashes with 'exec-oob'")],
        ),
        step(
            b"{'exec-oob': 'no-such-command', 'id': 'n'}",
            &[not_found(
                Some("\"n\""),
                "The command no-such-command has not been found",
            )],
        ),
        step(
            b"{'exec-oob': 'migrate-recover', 'id': 'r'}",
            &[generic_id("\"r\"", "Parameter 'uri' is missing")],
        ),
        step(
            b"{'exec-oob': 1}",
            &[generic("QMP input member 'exec-oob' must be a string")],
        ),
        step(
            b"{\"execute\":\"query-name\",\"id\":\"inband\"}",
            &[ok("{}", Some("\"inband\""))],
        ),
    ];
    check_steps(
        "exec_oob_before_and_after_enabling_oob",
        Mode::Negotiation,
        &steps,
    );
}

/// qmp-test.c qmp/oob 5 and 6. QEMU blocks an in-band command on a FIFO (blkdebug config);
/// here the blocking in-band command is `pmemsave` to a FIFO, whose open() blocks until a
/// reader appears. The OOB command must be answered first; then the in-band replies come in
/// order, and a malformed in-band request is answered in order too, with its id.
fn oob_overtaking(server: &Server) -> Result<(), String> {
    let fifo = server.dir.join("fifo");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut c = open(server, Mode::Oob);
    let blocking = |id: &str| {
        format!(
            "{{\"execute\":\"pmemsave\",\"arguments\":{{\"val\":0,\"size\":4096,\"filename\":\"{}\"}},\"id\":\"{id}\"}}",
            fifo.display()
        )
    };
    let drain = |fifo: &Path| {
        let f = fifo.to_path_buf();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            use std::io::Read;
            let _ = std::fs::File::open(&f).and_then(|mut h| h.read_to_end(&mut v));
            v.len()
        })
    };
    c.send(blocking("ib-blocks-1").as_bytes());
    c.send(b"{\"execute\":\"query-name\",\"id\":\"ib-quick-1\"}");
    c.send(b"{\"exec-oob\":\"migrate-pause\",\"id\":\"oob-1\"}");
    let first = c.read_message_timeout(Duration::from_secs(10));
    // Unblock whatever happened, so the server is not left stuck.
    let reader = drain(&fifo);
    let mut order = vec![];
    match first {
        Ok(m) => order.push(line_text(&m)),
        Err(e) => order.push(format!("<nothing while the in-band command blocked: {e}>")),
    }
    // Three replies in all, whatever came (or did not) while the command blocked.
    while order.iter().filter(|l| !l.starts_with('<')).count() < 3 {
        match c.read_message_timeout(Duration::from_secs(10)) {
            Ok(m) => order.push(line_text(&m)),
            Err(e) => {
                order.push(format!("<{e}>"));
                break;
            }
        }
    }
    assert_eq!(reader.join().unwrap(), 4096, "pmemsave wrote the page");
    let expected = vec![
        generic_id(
            "\"oob-1\"",
            "migrate-pause is currently only supported during postcopy-active or postcopy-recover state",
        ),
        ok("{}", Some("\"ib-blocks-1\"")),
        ok("{}", Some("\"ib-quick-1\"")),
    ];
    let mut problems = String::new();
    if order != expected {
        problems.push_str(&format!(
            "overtaking: expected {expected:#?}\n got {order:#?}\n"
        ));
    }
    // qmp/oob 6: a malformed in-band request queued behind a blocked one.
    c.send(blocking("blocks-2").as_bytes());
    c.send(b"{ 'id': 'err-2' }");
    let early = c.read_for(Duration::from_millis(300));
    let reader = drain(&fifo);
    let mut got: Vec<String> = vec![];
    if !early.is_empty() {
        got.push(format!("<while blocked: {}>", show(&early)));
    }
    while got.len() < 2 {
        match c.read_message_timeout(Duration::from_secs(10)) {
            Ok(m) => got.push(line_text(&m)),
            Err(e) => {
                got.push(format!("<{e}>"));
                break;
            }
        }
    }
    reader.join().unwrap();
    let expected = vec![
        ok("{}", Some("\"blocks-2\"")),
        generic_id("\"err-2\"", "QMP input lacks member 'execute'"),
    ];
    if got != expected {
        problems.push_str(&format!(
            "malformed in-band: expected {expected:#?}\n got {got:#?}\n"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[test]
fn qmp_test_oob_command_overtakes_a_blocked_in_band_command() {
    if let Some(q) = qemu_or_skip("qmp_test_oob_command_overtakes_a_blocked_in_band_command") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "oobq");
        oob_overtaking(&qemu).expect("QEMU itself behaves as qmp-test expects");
    }
    let vmm = start_protocol(Impl::Vmm, None, "oob");
    if let Err(e) = oob_overtaking(&vmm) {
        panic!("vmm:\n{e}");
    }
}

/// A blocked command's client leaves, the loop notices (an event fails to reach it) and the
/// next client takes the monitor: the late reply is dropped (it belongs to the old
/// connection), and the new client is served normally.
#[test]
fn a_late_reply_does_not_reach_the_next_client_of_the_monitor() {
    let dir_probe = TempDir::new("latereply2");
    let other = dir_probe.join("other.sock");
    let other_arg = qmp_arg(&other);
    let mut args: Vec<&str> = PROTOCOL_ARGS.to_vec();
    args.extend(["-qmp", &other_arg]);
    let vmm = start_vmm("latereply", &args);
    let fifo = vmm.dir.join("fifo");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut first = open(&vmm, Mode::Command);
    first.send(
        format!(
            "{{\"execute\":\"pmemsave\",\"arguments\":{{\"val\":0,\"size\":4096,\"filename\":\"{}\"}},\"id\":\"old\"}}",
            fifo.display()
        )
        .as_bytes(),
    );
    assert!(first.read_for(Duration::from_millis(200)).is_empty());
    drop(first);
    // Events to the departed client fail: the monitor lets the next one in.
    let mut watcher = connect(&other);
    watcher.negotiate();
    for cmd in ["stop", "cont"] {
        watcher.command(format!("{{\"execute\":\"{cmd}\"}}").as_bytes());
    }
    let mut second = open(&vmm, Mode::Command);
    // The pmemsave ends now; its reply must not show up here.
    let reader = std::thread::spawn(move || std::fs::read(&fifo).map(|v| v.len()));
    assert_eq!(reader.join().unwrap().unwrap(), 4096);
    let r = second.command(b"{\"execute\":\"query-name\",\"id\":\"new\"}");
    assert_eq!(line_text(&r), ok("{}", Some("\"new\"")));
    let extra = second.read_for(Duration::from_millis(300));
    assert!(extra.is_empty(), "stray output: {}", show(&extra));
}

// ------------------------------------------------------------------------------------------
// Flow control: pipelined requests are answered in order, one reply each

fn pipeline(server: &Server, mode: Mode, n: usize) -> Vec<String> {
    let mut c = open(server, mode);
    let mut burst = Vec::new();
    for i in 0..n {
        match i % 5 {
            0 => burst.extend_from_slice(
                format!("{{\"execute\":\"query-status\",\"id\":{i}}}").as_bytes(),
            ),
            1 => burst
                .extend_from_slice(format!("{{\"execute\":\"no-such\",\"id\":{i}}}\n").as_bytes()),
            2 => burst.extend_from_slice(format!("{{\"id\":{i}}}").as_bytes()),
            3 => burst.extend_from_slice(
                format!("{{\"execute\":\"query-name\",\"id\":{i},\"arguments\":{{\"x\":1}}}}")
                    .as_bytes(),
            ),
            _ => burst.extend_from_slice(
                format!("{{\"execute\":\"query-name\",\"id\":\"{i}\"}}\r\n").as_bytes(),
            ),
        }
    }
    // Write from a thread: a server that stops reading while it answers must not deadlock us.
    let mut w = c.unix_stream().unwrap().try_clone().unwrap();
    let t = std::thread::spawn(move || {
        use std::io::Write;
        w.write_all(&burst).unwrap();
    });
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match c.read_message_timeout(Duration::from_secs(20)) {
            Ok(m) => out.push(line_text(&m)),
            Err(e) => {
                out.push(format!("<{e}>"));
                break;
            }
        }
    }
    t.join().unwrap();
    let extra = c.read_for(Duration::from_millis(200));
    assert!(extra.is_empty(), "extra output: {}", show(&extra));
    out
}

fn pipeline_expected(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = i.to_string();
            match i % 5 {
                0 => ok("{\"status\": \"running\", \"running\": true}", Some(&id)),
                1 => not_found(Some(&id), "The command no-such has not been found"),
                2 => generic_id(&id, "QMP input lacks member 'execute'"),
                3 => generic_id(&id, "Parameter 'x' is unexpected"),
                _ => ok("{}", Some(&format!("\"{i}\""))),
            }
        })
        .collect()
}

#[test]
fn pipelined_requests_get_one_reply_each_in_order() {
    let n = 500;
    let vmm = start_protocol(Impl::Vmm, None, "pipe");
    let ours = pipeline(&vmm, Mode::Command, n);
    assert_eq!(ours, pipeline_expected(n), "without OOB");
    let vmm2 = start_protocol(Impl::Vmm, None, "pipeoob");
    let ours = pipeline(&vmm2, Mode::Oob, n);
    assert_eq!(ours, pipeline_expected(n), "with OOB enabled (queue of 8)");
    if let Some(q) = qemu_or_skip("pipelined_requests_get_one_reply_each_in_order") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "pipeq");
        assert_eq!(pipeline(&qemu, Mode::Command, 50), pipeline_expected(50));
    }
}

/// The reference's pipelined burst: ten query-status in one write with no separators.
#[test]
fn burst_of_ten_without_separators() {
    let mut burst = String::new();
    let mut expect = Vec::new();
    for i in 3..=12 {
        burst.push_str(&format!("{{\"execute\":\"query-status\",\"id\":{i}}}"));
        expect.push(ok(
            "{\"status\": \"running\", \"running\": true}",
            Some(&i.to_string()),
        ));
    }
    check_steps(
        "burst_of_ten_without_separators",
        Mode::Command,
        &[step(burst.as_bytes(), &expect)],
    );
}

// ------------------------------------------------------------------------------------------
// Several monitors, several clients

fn start_two_sockets(which: Impl, qemu: Option<&Path>, tag: &str) -> (Server, std::path::PathBuf) {
    let dir = TempDir::new(tag);
    let a = dir.join("a.sock");
    let b = dir.join("b.sock");
    let mut args: Vec<String> = PROTOCOL_ARGS.iter().map(|s| s.to_string()).collect();
    args.extend([
        "-display".into(),
        "none".into(),
        "-qmp".into(),
        qmp_arg(&a),
        "-qmp".into(),
        qmp_arg(&b),
    ]);
    let prog = match which {
        Impl::Vmm => tests::vmm_binary(),
        Impl::Qemu => qemu.unwrap().to_path_buf(),
    };
    let proc = VmmProcess::spawn_command(Command::new(prog).args(&args));
    (
        Server {
            which,
            proc,
            qmp: a,
            dir,
        },
        b,
    )
}

fn two_monitors_transcript(which: Impl, qemu: Option<&Path>) -> Vec<String> {
    let (server, b_path) = start_two_sockets(which, qemu, "twomon");
    let mut a = server.connect();
    let mut b = connect(&b_path);
    let mut t = vec![line_text(&a.greeting()), line_text(&b.greeting())];
    a.negotiate_after_greeting();
    // b is still negotiating: the STOP raised now must be dropped for it, not queued.
    t.extend(
        a.command_transcript(b"{\"execute\":\"stop\"}")
            .iter()
            .map(|m| line_text(m)),
    );
    let r = b.command(b"{\"execute\":\"qmp_capabilities\"}");
    t.push(line_text(&r));
    let stale = b.take_events();
    t.push(format!("b events before negotiating: {}", stale.len()));
    // Both in command mode: both get RESUME; a's reply comes after it.
    t.extend(
        a.command_transcript(b"{\"execute\":\"cont\"}")
            .iter()
            .map(|m| line_text(m)),
    );
    t.push(format!("b: {}", line_text(&b.wait_event("RESUME"))));
    t.extend(
        b.command_transcript(b"{\"execute\":\"stop\",\"id\":\"b\"}")
            .iter()
            .map(|m| line_text(m)),
    );
    t.push(format!("a: {}", line_text(&a.wait_event("STOP"))));
    // Each has its own negotiation state and id space.
    t.push(line_text(
        &a.command(b"{\"execute\":\"query-status\",\"id\":\"a\"}"),
    ));
    t
}

#[test]
fn two_qmp_sockets_both_get_events_and_negotiate_separately() {
    let ours = two_monitors_transcript(Impl::Vmm, None);
    let expected = vec![
        GREETING_MASKED.to_string(),
        GREETING_MASKED.to_string(),
        STOP_EVENT.to_string(),
        ok("{}", None),
        ok("{}", None),
        "b events before negotiating: 0".to_string(),
        "{\"timestamp\": {\"seconds\": S, \"microseconds\": U}, \"event\": \"RESUME\"}".to_string(),
        ok("{}", None),
        "b: {\"timestamp\": {\"seconds\": S, \"microseconds\": U}, \"event\": \"RESUME\"}"
            .to_string(),
        STOP_EVENT.to_string(),
        ok("{}", Some("\"b\"")),
        format!("a: {STOP_EVENT}"),
        ok(
            "{\"status\": \"paused\", \"running\": false}",
            Some("\"a\""),
        ),
    ];
    assert_eq!(ours, expected);
    if let Some(q) = qemu_or_skip("two_qmp_sockets_both_get_events_and_negotiate_separately") {
        assert_eq!(two_monitors_transcript(Impl::Qemu, Some(&q)), expected);
    }
}

fn second_client_transcript(server: &Server) -> Vec<String> {
    let mut t = Vec::new();
    let mut first = server.connect();
    first.greeting();
    first.negotiate_after_greeting();
    let mut second = server.connect();
    // Connected (in the backlog), but served only when the first leaves.
    let early = second.read_for(Duration::from_millis(700));
    t.push(format!("second before first leaves: {}", show(&early)));
    // The second client's early request waits too.
    second.send(b"{\"execute\":\"query-name\",\"id\":\"early\"}");
    t.push(line_text(
        &first.command(b"{\"execute\":\"query-status\",\"id\":\"first\"}"),
    ));
    let early = second.read_for(Duration::from_millis(300));
    t.push(format!("second still: {}", show(&early)));
    drop(first);
    t.push(line_text(&second.greeting()));
    // A new connection starts in negotiation mode, whatever the previous one did.
    t.push(line_text(&second.reply()));
    t.push(line_text(
        &second.command(b"{\"execute\":\"qmp_capabilities\"}"),
    ));
    drop(second);
    // And a third, after the second closed, gets its greeting at once.
    let mut third = server.connect();
    t.push(line_text(&third.greeting()));
    t.push(line_text(
        &third.command(b"{\"execute\":\"query-status\",\"id\":3}"),
    ));
    t
}

#[test]
fn second_client_on_a_socket_waits_for_the_first_to_leave() {
    let expected = vec![
        "second before first leaves: ".to_string(),
        ok(
            "{\"status\": \"running\", \"running\": true}",
            Some("\"first\""),
        ),
        "second still: ".to_string(),
        GREETING_MASKED.to_string(),
        not_found(Some("\"early\""), NEGOTIATE_FIRST),
        ok("{}", None),
        GREETING_MASKED.to_string(),
        not_found(Some("3"), NEGOTIATE_FIRST),
    ];
    let vmm = start_protocol(Impl::Vmm, None, "second");
    assert_eq!(second_client_transcript(&vmm), expected);
    if let Some(q) = qemu_or_skip("second_client_on_a_socket_waits_for_the_first_to_leave") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "secondq");
        assert_eq!(second_client_transcript(&qemu), expected);
    }
}

/// A client that disconnects in the middle of a message leaves nothing behind: the parser
/// is reset for the next client.
#[test]
fn disconnect_mid_message_resets_the_parser() {
    let check = |server: &Server| -> Vec<String> {
        let mut a = server.client();
        a.send(b"{\"execute\":\"query-name\",\"id\":[1,2,");
        drop(a);
        let mut b = server.connect();
        let mut t = vec![line_text(&b.greeting())];
        t.push(line_text(&b.command(
            b"{\"execute\":\"qmp_capabilities\",\"id\":\"fresh\"}",
        )));
        t
    };
    let expected = vec![GREETING_MASKED.to_string(), ok("{}", Some("\"fresh\""))];
    let vmm = start_protocol(Impl::Vmm, None, "midmsg");
    assert_eq!(check(&vmm), expected);
    if let Some(q) = qemu_or_skip("disconnect_mid_message_resets_the_parser") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "midmsgq");
        assert_eq!(check(&qemu), expected);
    }
}

// ------------------------------------------------------------------------------------------
// Ways to give a monitor its socket

fn spawn(which: Impl, qemu: Option<&Path>, args: &[String]) -> VmmProcess {
    let prog = match which {
        Impl::Vmm => tests::vmm_binary(),
        Impl::Qemu => qemu.unwrap().to_path_buf(),
    };
    let mut full: Vec<String> = PROTOCOL_ARGS.iter().map(|s| s.to_string()).collect();
    full.extend(["-display".into(), "none".into()]);
    full.extend(args.iter().cloned());
    VmmProcess::spawn_command(Command::new(prog).args(&full))
}

fn tcp_session(which: Impl, qemu: Option<&Path>) -> Vec<String> {
    let port = free_tcp_port();
    let _p = spawn(
        which,
        qemu,
        &[
            "-qmp".into(),
            format!("tcp:127.0.0.1:{port},server=on,wait=off"),
        ],
    );
    let mut c = QmpClient::connect_tcp(&format!("127.0.0.1:{port}"), Duration::from_secs(30))
        .expect("connect over TCP");
    let mut t = vec![line_text(&c.greeting())];
    t.push(line_text(&c.command(b"{\"execute\":\"qmp_capabilities\"}")));
    t.push(line_text(
        &c.command(b"{\"execute\":\"query-status\",\"id\":\"tcp\"}"),
    ));
    // A connected TCP chardev names its peer: "... <-> 127.0.0.1:<client port>".
    let chardev = line_text(&c.command(b"{\"execute\":\"query-chardev\"}"))
        .replace(&format!(":{port},"), ":PORT,");
    t.push(tests::qmp_client::mask_number_after(
        &chardev,
        "<-> 127.0.0.1:",
        "PEER",
    ));
    t
}

#[test]
fn qmp_over_tcp() {
    let expected = vec![
        GREETING_MASKED.to_string(),
        ok("{}", None),
        ok(
            "{\"status\": \"running\", \"running\": true}",
            Some("\"tcp\""),
        ),
        ok(
            "[{\"frontend-open\": true, \"filename\": \"tcp:127.0.0.1:PORT,server=on <-> 127.0.0.1:PEER\", \"label\": \"compat_monitor0\"}]",
            None,
        ),
    ];
    assert_eq!(tcp_session(Impl::Vmm, None), expected);
    if let Some(q) = qemu_or_skip("qmp_over_tcp") {
        assert_eq!(tcp_session(Impl::Qemu, Some(&q)), expected);
    }
}

fn chardev_mon_session(which: Impl, qemu: Option<&Path>, pretty: bool) -> Vec<String> {
    let dir = TempDir::new("mon");
    let path = dir.join("mon.sock");
    let _p = spawn(
        which,
        qemu,
        &[
            "-chardev".into(),
            format!(
                "socket,id=charmonitor,path={},server=on,wait=off",
                path.display()
            ),
            "-mon".into(),
            format!(
                "chardev=charmonitor,id=monitor,mode=control{}",
                if pretty { ",pretty=on" } else { "" }
            ),
        ],
    );
    let mut c = connect(&path);
    c.pretty = pretty;
    let p = path.display().to_string();
    let fix = |m: Vec<u8>| line_text(&m).replace(&p, "PATH");
    c.qemu_startup_race = which == Impl::Qemu;
    let mut t = vec![fix(c.greeting())];
    t.push(fix(c.command(b"{\"execute\":\"qmp_capabilities\"}")));
    for cmd in [
        &b"{\"execute\":\"query-status\"}"[..],
        b"{\"execute\":\"query-name\",\"id\":[1,{\"a\":[]},{},\"s\"]}",
        b"{\"execute\":\"no-such\",\"id\":1}",
        b"{]",
        b"{\"execute\":\"query-chardev\"}",
        b"{\"execute\":\"query-target\",\"id\":{\"deep\":{\"er\":[true,null,1.5]}}}",
        b"{\"execute\":\"stop\"}",
        b"{\"execute\":\"cont\"}",
    ] {
        c.send(cmd);
        // Events come before the reply.
        loop {
            let m = c.read_message();
            let ev = is_event(&m);
            t.push(fix(m));
            if !ev {
                break;
            }
        }
    }
    t
}

#[test]
fn chardev_socket_with_mon_control() {
    let ours = chardev_mon_session(Impl::Vmm, None, false);
    let expected = vec![
        GREETING_MASKED.to_string(),
        ok("{}", None),
        ok("{\"status\": \"running\", \"running\": true}", None),
        ok("{}", Some("[1, {\"a\": []}, {}, \"s\"]")),
        not_found(Some("1"), "The command no-such has not been found"),
        generic(EXPECTING_VALUE),
        ok(
            "[{\"frontend-open\": true, \"filename\": \"unix:PATH,server=on\", \"label\": \"charmonitor\"}]",
            None,
        ),
        ok(
            "{\"arch\": \"x86_64\"}",
            Some("{\"deep\": {\"er\": [true, null, 1.5]}}"),
        ),
        STOP_EVENT.to_string(),
        ok("{}", None),
        "{\"timestamp\": {\"seconds\": S, \"microseconds\": U}, \"event\": \"RESUME\"}".to_string(),
        ok("{}", None),
    ];
    assert_eq!(ours, expected);
    if let Some(q) = qemu_or_skip("chardev_socket_with_mon_control") {
        assert_eq!(chardev_mon_session(Impl::Qemu, Some(&q), false), expected);
    }
}

#[test]
fn chardev_socket_with_mon_control_pretty() {
    let ours = chardev_mon_session(Impl::Vmm, None, true);
    // QEMU's pretty printer: 4-space indent, "\r\n" line ends, empty containers open and
    // close on separate lines.
    assert_eq!(
        ours[0],
        "{\r\n    \"QMP\": {\r\n        \"version\": {\r\n            \"qemu\": {\r\n                \"micro\": 2,\r\n                \"minor\": 0,\r\n                \"major\": 10\r\n            },\r\n            \"package\": \"P\"\r\n        },\r\n        \"capabilities\": [\r\n            \"oob\"\r\n        ]\r\n    }\r\n}"
    );
    assert_eq!(ours[1], "{\r\n    \"return\": {\r\n    }\r\n}");
    assert_eq!(
        ours[3],
        "{\r\n    \"return\": {\r\n    },\r\n    \"id\": [\r\n        1,\r\n        {\r\n            \"a\": [\r\n            ]\r\n        },\r\n        {\r\n        },\r\n        \"s\"\r\n    ]\r\n}"
    );
    assert_eq!(
        ours[8],
        "{\r\n    \"timestamp\": {\r\n        \"seconds\": S,\r\n        \"microseconds\": U\r\n    },\r\n    \"event\": \"STOP\"\r\n}"
    );
    if let Some(q) = qemu_or_skip("chardev_socket_with_mon_control_pretty") {
        let theirs = chardev_mon_session(Impl::Qemu, Some(&q), true);
        let mut report = String::new();
        for (i, (a, b)) in ours.iter().zip(theirs.iter()).enumerate() {
            if a != b {
                report.push_str(&format!("message {i}:\nvmm:  {a:?}\nqemu: {b:?}\n"));
            }
        }
        assert_eq!(ours.len(), theirs.len());
        assert!(report.is_empty(), "{report}");
    }
}

/// libvirt's way: it creates and binds the listening socket itself and passes the fd by
/// inheritance: `-chardev socket,id=charmonitor,fd=N,server=on,wait=off`.
fn inherited_fd_session(which: Impl, qemu: Option<&Path>) -> Vec<String> {
    let dir = TempDir::new("fd");
    let path = dir.join("monitor.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let raw = listener.as_raw_fd();
    const CHILD_FD: i32 = 18;
    let prog = match which {
        Impl::Vmm => tests::vmm_binary(),
        Impl::Qemu => qemu.unwrap().to_path_buf(),
    };
    let mut cmd = Command::new(prog);
    cmd.args(PROTOCOL_ARGS).args([
        "-display",
        "none",
        "-chardev",
        &format!("socket,id=charmonitor,fd={CHILD_FD},server=on,wait=off"),
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
    ]);
    // SAFETY: dup2 is async-signal-safe; the new descriptor has no FD_CLOEXEC.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, CHILD_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let _p = VmmProcess::spawn_command(&mut cmd);
    // The socket is ours: connecting succeeds at once (backlog); the greeting comes when the
    // child accepts.
    let mut c = connect(&path);
    drop(listener);
    let p = path.display().to_string();
    let mut t = vec![line_text(&c.greeting())];
    t.push(line_text(&c.command(b"{\"execute\":\"qmp_capabilities\"}")));
    t.push(line_text(&c.command(b"{\"execute\":\"query-chardev\"}")).replace(&p, "PATH"));
    drop(c);
    // A second connection after the first: served too (still a listening socket).
    let mut c2 = connect(&path);
    t.push(line_text(&c2.greeting()));
    t
}

#[test]
fn inherited_listening_fd_as_libvirt_passes_it() {
    let expected = vec![
        GREETING_MASKED.to_string(),
        ok("{}", None),
        ok(
            "[{\"frontend-open\": true, \"filename\": \"unix:PATH,server=on\", \"label\": \"charmonitor\"}]",
            None,
        ),
        GREETING_MASKED.to_string(),
    ];
    assert_eq!(inherited_fd_session(Impl::Vmm, None), expected);
    if let Some(q) = qemu_or_skip("inherited_listening_fd_as_libvirt_passes_it") {
        assert_eq!(inherited_fd_session(Impl::Qemu, Some(&q)), expected);
    }
}

/// `wait=on`: start-up blocks until a client connects (QEMU prints where it waits); the
/// guest does not run before that.
#[test]
fn wait_on_blocks_start_up_until_a_client_connects() {
    use tests::guest_abi::BANNER;
    let dir = TempDir::new("waiton");
    let path = dir.join("w.sock");
    let arg = format!("unix:{},server=on,wait=on", path.display());
    let mut vm = VmmProcess::spawn(&["-display", "none", "-serial", "stdio", "-qmp", &arg]);
    // It says it waits (QEMU's text, on stderr) ...
    let waiting = format!(
        "QEMU waiting for connection on: disconnected:unix:{},server=on",
        path.display()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !vm.stderr().contains(&waiting) {
        assert!(
            Instant::now() < deadline,
            "no waiting message; stderr: {}",
            vm.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // ... and the guest has not started: nothing on the serial port for a while.
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !vm.output().contains(BANNER),
        "guest ran before a client connected: {}",
        vm.output()
    );
    assert!(vm.wait_exit(Duration::from_millis(1)).is_none());
    let mut c = connect(&path);
    c.negotiate();
    vm.wait_for(BANNER, Duration::from_secs(60));
    assert_eq!(
        line_text(&c.command(b"{\"execute\":\"query-status\"}")),
        ok("{\"status\": \"running\", \"running\": true}", None)
    );
    // QEMU's exact stderr line carries the option's location.
    let line = vm.stderr_line("waiting for connection", Duration::from_secs(10));
    let expected = format!("vmm: -qmp {arg}: info: {waiting}");
    if let Some(q) = qemu_or_skip("wait_on_blocks_start_up_until_a_client_connects") {
        let qpath = dir.join("q.sock");
        let qarg = format!("unix:{},server=on,wait=on", qpath.display());
        let qemu = VmmProcess::spawn_command(Command::new(&q).args([
            "-nodefaults",
            "-machine",
            "none",
            "-display",
            "none",
            "-qmp",
            &qarg,
        ]));
        let mut qc = connect(&qpath);
        qc.greeting();
        let qline = qemu
            .stderr_line("waiting for connection", Duration::from_secs(10))
            .replace("qemu-system-x86_64: ", "vmm: ")
            .replace(&qarg, &arg)
            .replace(&qpath.display().to_string(), &path.display().to_string());
        assert_eq!(qline, expected, "QEMU's line (adapted)");
    }
    assert_eq!(line, expected, "stderr line");
}

/// While it waits for the `wait=on` client, SIGTERM ends the process (QEMU dies of it).
#[test]
fn sigterm_while_waiting_for_the_wait_on_client_exits() {
    let dir = TempDir::new("waitterm");
    let path = dir.join("w.sock");
    let arg = format!("unix:{},server=on,wait=on", path.display());
    let mut vm = VmmProcess::spawn(&["-display", "none", "-serial", "null", "-qmp", &arg]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !vm.stderr().contains("waiting for connection") {
        assert!(Instant::now() < deadline, "stderr: {}", vm.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    vm.signal(libc::SIGTERM);
    let status = vm.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some(),
        "vmm still running 10 s after SIGTERM while waiting for a wait=on client"
    );
}

/// Reading a closed connection: after `quit` the server closes the socket once the reply
/// is out (the reply is complete and nothing follows).
#[test]
fn quit_reply_then_end_of_stream() {
    let run = |server: &Server| -> Vec<String> {
        let mut c = server.client();
        let mut t: Vec<String> = c
            .command_transcript(b"{\"execute\":\"quit\",\"id\":\"q\"}")
            .iter()
            .map(|m| line_text(m))
            .collect();
        match c.read_to_eof(Duration::from_secs(20)) {
            Ok(rest) => t.push(format!("eof after {}", show(&rest))),
            Err(rest) => t.push(format!("no eof: {}", show(&rest))),
        }
        t
    };
    let expected = vec![
        "{\"timestamp\": {\"seconds\": S, \"microseconds\": U}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}".to_string(),
        ok("{}", Some("\"q\"")),
        "eof after ".to_string(),
    ];
    let mut vmm = start_protocol(Impl::Vmm, None, "quit");
    assert_eq!(run(&vmm), expected);
    let st = vmm.proc.wait_exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(st.code(), Some(0));
    if let Some(q) = qemu_or_skip("quit_reply_then_end_of_stream") {
        let qemu = start_protocol(Impl::Qemu, Some(&q), "quitq");
        assert_eq!(run(&qemu), expected);
    }
}

/// QEMU registers a yank instance for every socket chardev (here the monitor's own), so
/// `query-yank` is never empty on a QMP socket.
#[test]
fn query_yank_lists_the_monitor_chardev() {
    let steps = vec![
        step(
            b"{\"execute\":\"query-yank\",\"id\":\"y\"}",
            &[ok(
                "[{\"type\": \"chardev\", \"id\": \"compat_monitor0\"}]",
                Some("\"y\""),
            )],
        ),
        step(
            b"{\"exec-oob\":\"query-yank\",\"id\":\"oob\"}",
            &[ok(
                "[{\"type\": \"chardev\", \"id\": \"compat_monitor0\"}]",
                Some("\"oob\""),
            )],
        ),
        step(
            b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[{\"type\":\"chardev\",\"id\":\"nosuch\"}]}}",
            &["{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Instance not found\"}}".to_string()],
        ),
        step(
            b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[]}}",
            &[ok("{}", None)],
        ),
    ];
    check_steps("query_yank_lists_the_monitor_chardev", Mode::Oob, &steps);
}

/// `yank` of a serial socket chardev cuts its client, as QEMU's `tcp_chr_yank` does; the
/// server socket then takes the next client, and the console works on it.
#[test]
fn yank_cuts_a_serial_socket_client() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let dir = TempDir::new("yankserial");
    let serial = dir.join("serial.sock");
    let serial_arg = qmp_arg(&serial);
    let server = start_vmm("yankserialqmp", &["-m", "64", "-serial", &serial_arg]);
    let mut qmp = server.client();
    let console = |deadline: Instant| -> UnixStream {
        let mut s = loop {
            match UnixStream::connect(&serial) {
                Ok(s) => break s,
                Err(e) => assert!(Instant::now() < deadline, "serial socket: {e}"),
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        // The guest answers once it is up; ask until it does.
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("pong") {
            s.write_all(b"ping\r").expect("write to the console");
            let n = s.read(&mut buf).expect("console output");
            assert!(n > 0, "console closed: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        s
    };
    let mut first = console(Instant::now() + Duration::from_secs(60));
    let yanks = String::from_utf8_lossy(&qmp.command(b"{\"execute\":\"query-yank\"}")).to_string();
    assert!(yanks.contains("\"id\": \"serial0\""), "{yanks}");
    let reply = qmp.command(
        b"{\"execute\":\"yank\",\"arguments\":{\"instances\":[{\"type\":\"chardev\",\"id\":\"serial0\"}]}}",
    );
    assert_eq!(
        String::from_utf8_lossy(&reply).trim_end(),
        "{\"return\": {}}"
    );
    // The end of the stream, or a reset when console input was still unread at the close.
    let mut rest = Vec::new();
    match first.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the yanked client should see its end: {e}"),
    }
    console(Instant::now() + Duration::from_secs(10));
}
