//! One QMP client connection: input parsing, capabilities negotiation, request checks,
//! QEMU's request queue and flow control, and the output it owes the client.
//!
//! The model follows `monitor/qmp.c`. Parsed messages are *handled* in arrival order
//! (`handle_qmp_command()`): an `exec-oob` message is dispatched at once, anything else
//! is appended to the in-band queue, and the reader is suspended when the queue is full
//! (one request without OOB, [`QUEUE_LEN_MAX`] with it). The *dispatcher* takes one queued
//! item at a time (`monitor_qmp_dispatcher_co()`): it checks it and either answers it here
//! (errors, the session's own commands) or hands it to the caller, and takes the next one
//! only after the caller's reply.
//!
//! QEMU's reader takes one byte per `read()` so that it stops right after the message that
//! suspended it. Here [`QmpSession::feed`] parses a whole chunk, and messages parsed past
//! the suspension point wait, unhandled, in `lookahead` until the reader resumes: parsing
//! does not depend on the session's state, so the wire sees the same thing, and the
//! caller, which reads only while [`QmpSession::wants_input`], holds at most one read's
//! worth of messages.

use super::builtin;
use super::error::NegotiationError;
use super::output::OutputBuffer;
use super::pretty::pretty_into;
use super::request::{is_oob_path, parse_envelope, Envelope};
use super::response::{write_error, write_greeting, write_return};
use crate::json::{to_qmp_string, JsonStreamer, ParsedItem};
use qapi::types::VersionInfo;
use qapi::{Command, QapiError};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// In-band requests queued per monitor when OOB is enabled (`QMP_REQ_QUEUE_LEN_MAX`).
pub const QUEUE_LEN_MAX: usize = 8;

/// How a monitor was configured (`-mon ...,pretty=on`, and whether its chardev can run in
/// the monitor I/O thread, which is what makes QEMU offer OOB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionConfig {
    /// Pretty-print every message as QEMU's `pretty=on` does.
    pub pretty: bool,
    /// Offer the `oob` capability in the greeting.
    pub oob_offered: bool,
}

/// A checked request for the caller to run; answer it with [`QmpSession::reply`], or with
/// [`QmpSession::reply_oob`] when `oob` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's `id`, to be echoed; `Some(Value::Null)` for `"id": null`.
    pub id: Option<Value>,
    /// The command, its arguments checked against the schema.
    pub command: Command,
    /// Sent with `exec-oob`: may overtake in-band requests, and leaves flow control alone.
    pub oob: bool,
}

/// The protocol state of one client connection; make a new one for every connection.
pub struct QmpSession {
    config: SessionConfig,
    streamer: JsonStreamer,
    /// Capabilities negotiation is over: all commands are available and events flow.
    negotiated: bool,
    oob_enabled: bool,
    machine_ready: bool,
    /// Parsed messages the reader has not handled yet (still "in the socket" for QEMU).
    lookahead: VecDeque<ParsedItem>,
    /// Handled in-band messages waiting for the dispatcher (`qmp_requests`).
    queue: VecDeque<ParsedItem>,
    /// The in-band request the dispatcher took, until the caller takes it.
    ready: Option<Request>,
    /// The caller holds an in-band request and has not replied yet.
    running: bool,
    oob_ready: VecDeque<Request>,
    out: OutputBuffer,
    /// Scratch for the compact text of one message, reused to avoid allocations.
    line: String,
}

impl QmpSession {
    /// A session in capabilities negotiation mode.
    pub fn new(config: SessionConfig) -> Self {
        QmpSession {
            config,
            streamer: JsonStreamer::new(),
            negotiated: false,
            oob_enabled: false,
            machine_ready: true,
            lookahead: VecDeque::new(),
            queue: VecDeque::new(),
            ready: None,
            running: false,
            oob_ready: VecDeque::new(),
            out: OutputBuffer::default(),
            line: String::with_capacity(256),
        }
    }

    /// The greeting bytes, `\r\n` included; `version` is what `query-version` returns.
    pub fn greeting(&self, version: &VersionInfo) -> Vec<u8> {
        let mut line = String::with_capacity(192);
        write_greeting(&mut line, version, self.config.oob_offered);
        let mut bytes = Vec::with_capacity(line.len() + 2);
        frame(self.config.pretty, &line, &mut bytes);
        bytes
    }

    /// Queues the greeting as the first output. Call it on connect, before any `feed`.
    pub fn queue_greeting(&mut self, version: &VersionInfo) {
        self.line.clear();
        write_greeting(&mut self.line, version, self.config.oob_offered);
        frame(self.config.pretty, &self.line, self.out.appender());
    }

    /// Whether the caller should read more input. False while requests are queued or
    /// running beyond what QEMU allows (then QEMU stops reading the socket too), and while
    /// input parsed earlier is still waiting.
    pub fn wants_input(&self) -> bool {
        self.lookahead.is_empty() && !self.suspended()
    }

    /// Takes the next bytes of the input stream, any split. All bytes are taken; messages
    /// that complete while the session does not want input are kept for later, so read
    /// only while [`wants_input`](Self::wants_input) to bound that to one read.
    pub fn feed(&mut self, bytes: &[u8]) {
        let lookahead = &mut self.lookahead;
        self.streamer
            .feed_with(bytes, |item| lookahead.push_back(item));
        self.advance();
    }

    /// The next request to run: out-of-band ones first, then the in-band one, if any.
    /// At most one in-band request is out at a time; the next comes after its reply.
    pub fn next_request(&mut self) -> Option<Request> {
        if let Some(request) = self.oob_ready.pop_front() {
            return Some(request);
        }
        let request = self.ready.take()?;
        self.running = true;
        Some(request)
    }

    /// Answers the in-band request that has `id`, and lets the session go on with queued
    /// requests and input.
    pub fn reply(&mut self, id: Option<Value>, result: Result<Value, QapiError>) {
        self.respond(id.as_ref(), result);
        self.running = false;
        self.advance();
    }

    /// Answers an out-of-band request (one with `oob` set).
    pub fn reply_oob(&mut self, id: Option<Value>, result: Result<Value, QapiError>) {
        self.respond(id.as_ref(), result);
    }

    /// Sends an event line made by [`format_event`](super::format_event) (or the
    /// throttle), unless the client is still negotiating: QEMU drops events then. Returns
    /// whether it was sent.
    pub fn event(&mut self, line: &str) -> bool {
        if !self.negotiated {
            return false;
        }
        frame(self.config.pretty, line, self.out.appender());
        true
    }

    /// The bytes to write to the client.
    pub fn output(&mut self) -> &mut OutputBuffer {
        &mut self.out
    }

    /// Takes all bytes to write to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.out.take()
    }

    /// Whether the machine is initialized; false under `--preconfig` until
    /// `x-exit-preconfig`, which limits the commands to those allowed in preconfig.
    pub fn set_machine_ready(&mut self, ready: bool) {
        self.machine_ready = ready;
    }

    /// Whether `qmp_capabilities` has succeeded.
    pub fn is_negotiated(&self) -> bool {
        self.negotiated
    }

    /// Whether the client enabled OOB.
    pub fn oob_enabled(&self) -> bool {
        self.oob_enabled
    }

    /// Whether QEMU's reader would be suspended (`monitor_suspend()` in
    /// `handle_qmp_command()`, undone by the dispatcher).
    fn suspended(&self) -> bool {
        if self.oob_enabled {
            self.queue.len() >= QUEUE_LEN_MAX
        } else {
            !self.queue.is_empty() || self.ready.is_some() || self.running
        }
    }

    /// Runs the dispatcher and the reader until both wait: the caller's reply, or input.
    fn advance(&mut self) {
        loop {
            // The dispatcher goes first: QEMU's pops a request as soon as it is idle,
            // which is what lets the reader resume.
            if self.ready.is_none() && !self.running {
                if let Some(item) = self.queue.pop_front() {
                    self.ready = self.dispatch(item);
                    continue;
                }
            }
            if !self.suspended() {
                if let Some(item) = self.lookahead.pop_front() {
                    self.handle(item);
                    continue;
                }
            }
            return;
        }
    }

    /// The reader's part (`handle_qmp_command()`): out-of-band messages are dispatched at
    /// once, everything else, errors included, waits its turn in the queue.
    fn handle(&mut self, item: ParsedItem) {
        if is_oob_path(&item) {
            if let Some(request) = self.dispatch(item) {
                self.oob_ready.push_back(request);
            }
        } else {
            self.queue.push_back(item);
        }
    }

    /// The dispatcher's part (`monitor_qmp_dispatch()`): answers the message here, or
    /// returns the request the caller must run.
    fn dispatch(&mut self, item: ParsedItem) -> Option<Request> {
        let value = match item {
            Ok(value) => value,
            Err(e) => {
                self.respond(None, Err(QapiError::generic(e.to_string())));
                return None;
            }
        };
        let envelope = match parse_envelope(value, self.oob_enabled) {
            Ok(envelope) => envelope,
            Err(rejected) => {
                self.respond(rejected.id.as_ref(), Err(rejected.error.into()));
                return None;
            }
        };
        let Envelope {
            id,
            name,
            oob,
            arguments,
        } = envelope;
        match self.check(&name, oob, arguments) {
            Ok(Checked::Machine(command)) => Some(Request { id, command, oob }),
            Ok(Checked::Answered(ret)) => {
                self.respond_text(id.as_ref(), ret);
                None
            }
            Err(mut error) => {
                // QEMU rewrites every CommandNotFound while negotiating.
                if !self.negotiated && error.class == qapi::ErrorClass::CommandNotFound {
                    error = NegotiationError::Expecting.into();
                }
                self.respond(id.as_ref(), Err(error));
                None
            }
        }
    }

    /// The checks after the request's shape (`qmp_dispatch()`), and the session's own
    /// commands.
    fn check(
        &mut self,
        name: &str,
        oob: bool,
        arguments: Map<String, Value>,
    ) -> Result<Checked, QapiError> {
        // Before negotiation the command table holds nothing else.
        if !self.negotiated && name != "qmp_capabilities" {
            return Err(QapiError::command_not_found(name));
        }
        qapi::preflight(name, oob, self.machine_ready)?;
        match qapi::parse_command(name, arguments)? {
            Command::QmpCapabilities(args) => {
                self.oob_enabled =
                    builtin::negotiate(&args, self.negotiated, self.config.oob_offered)?;
                self.negotiated = true;
                Ok(Checked::Answered("{}"))
            }
            Command::QueryCommands => Ok(Checked::Answered(builtin::query_commands())),
            Command::QueryQmpSchema => Ok(Checked::Answered(builtin::query_qmp_schema())),
            command => Ok(Checked::Machine(command)),
        }
    }

    fn respond(&mut self, id: Option<&Value>, result: Result<Value, QapiError>) {
        self.line.clear();
        match result {
            Ok(ret) => write_return(&mut self.line, &to_qmp_string(&ret), id),
            Err(error) => write_error(&mut self.line, &error, id),
        }
        frame(self.config.pretty, &self.line, self.out.appender());
    }

    /// Answers with a return value that is already JSON text.
    fn respond_text(&mut self, id: Option<&Value>, ret: &str) {
        self.line.clear();
        write_return(&mut self.line, ret, id);
        frame(self.config.pretty, &self.line, self.out.appender());
    }
}

/// Appends one message with its line end, in the monitor's layout.
fn frame(pretty: bool, compact: &str, out: &mut Vec<u8>) {
    if pretty {
        pretty_into(compact, out);
    } else {
        out.extend_from_slice(compact.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// What the dispatcher made of a request.
enum Checked {
    /// For the caller to run.
    Machine(Command),
    /// Answered by the session with this return value (JSON text).
    Answered(&'static str),
}
