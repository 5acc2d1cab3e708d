//! In-memory sessions with a fake machine that answers a few commands as QEMU 10.0.2 with
//! `-nodefaults -machine none` does, and a small deterministic RNG.

use crate::qmp::{format_event, QmpSession, Request, SessionConfig};
use qapi::types::{VersionInfo, VersionTriple};
use qapi::{Command, Event, QapiError};
use serde_json::{json, Value};
use std::time::SystemTime;

/// The version QEMU 10.0.2 from Debian reports (the reference build).
pub fn version() -> VersionInfo {
    VersionInfo {
        qemu: VersionTriple {
            major: 10,
            minor: 0,
            micro: 2,
        },
        package: "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1".to_owned(),
    }
}

/// The measured greeting of the reference build.
pub const GREETING: &str = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n";

pub const MIGRATE_PAUSE_ERROR: &str =
    "migrate-pause is currently only supported during postcopy-active or postcopy-recover state";

/// The machine side: answers like QEMU with `-machine none`, raising events first.
#[derive(Debug)]
pub struct Machine {
    pub version: VersionInfo,
    pub paused: bool,
    /// Events raised so far.
    pub events: usize,
}

impl Machine {
    pub fn new(version: VersionInfo) -> Self {
        Machine {
            version,
            paused: false,
            events: 0,
        }
    }

    /// Runs `command`; events it raises go to `session` before the reply, as in QEMU.
    pub fn run(&mut self, command: &Command, session: &mut QmpSession) -> Result<Value, QapiError> {
        let events = &mut self.events;
        let mut raise = |event: Event| {
            if session.event(&format_event(&event, SystemTime::now())) {
                *events += 1;
            }
        };
        match command {
            Command::QueryName => Ok(json!({})),
            Command::QueryVersion => Ok(serde_json::to_value(&self.version).unwrap_or_default()),
            // Members in schema order; the writer puts them in QEMU's order.
            Command::QueryStatus => Ok(json!({
                "running": !self.paused,
                "status": if self.paused { "paused" } else { "running" },
            })),
            Command::QueryCpusFast => Ok(json!([])),
            Command::Stop => {
                if !self.paused {
                    self.paused = true;
                    raise(Event::Stop);
                }
                Ok(json!({}))
            }
            Command::Cont => {
                if self.paused {
                    self.paused = false;
                    raise(Event::Resume);
                }
                Ok(json!({}))
            }
            Command::MigratePause => Err(QapiError::generic(MIGRATE_PAUSE_ERROR)),
            other => Err(QapiError::generic(format!(
                "not in the fake machine: {other:?}"
            ))),
        }
    }
}

/// A session and a machine, driven as the event loop drives them: input is fed only while
/// the session wants it, and every request is answered at once.
pub struct Client {
    pub session: QmpSession,
    pub machine: Machine,
    /// Input the "socket" still holds because the session did not want it yet.
    pending: Vec<u8>,
}

impl Client {
    /// A client past the greeting (taken and checked), still negotiating.
    pub fn new(config: SessionConfig) -> Self {
        Self::with_version(config, version())
    }

    pub fn with_version(config: SessionConfig, version: VersionInfo) -> Self {
        let mut session = QmpSession::new(config);
        session.queue_greeting(&version);
        let greeting = session.take_output();
        assert_eq!(greeting, session.greeting(&version));
        Client {
            session,
            machine: Machine::new(version),
            pending: Vec::new(),
        }
    }

    /// A compact client with OOB offered (the usual socket monitor).
    pub fn qmp() -> Self {
        Self::new(SessionConfig {
            pretty: false,
            oob_offered: true,
        })
    }

    /// [`qmp`](Self::qmp) after `qmp_capabilities`, with OOB enabled or not.
    pub fn negotiated(oob: bool) -> Self {
        let mut client = Self::qmp();
        let request: &[u8] = if oob {
            br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"#
        } else {
            br#"{"execute":"qmp_capabilities"}"#
        };
        assert_eq!(client.send(request), "{\"return\": {}}\r\n");
        client
    }

    /// Sends `bytes` and runs everything they cause; returns the output as text.
    pub fn send(&mut self, bytes: &[u8]) -> String {
        let out = self.send_bytes(bytes);
        String::from_utf8(out).unwrap_or_else(|e| panic!("output is not UTF-8: {e}"))
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        self.pump(usize::MAX);
        self.session.take_output()
    }

    /// Feeds pending input in reads of at most `chunk` bytes, answering requests in
    /// between, until the session waits for input that is not there.
    pub fn pump(&mut self, chunk: usize) {
        loop {
            while let Some(request) = self.session.next_request() {
                self.answer(request);
            }
            if self.session.wants_input() && !self.pending.is_empty() {
                let n = chunk.min(self.pending.len());
                self.session.feed(&self.pending[..n]);
                self.pending.drain(..n);
                continue;
            }
            return;
        }
    }

    pub fn answer(&mut self, request: Request) {
        let result = self.machine.run(&request.command, &mut self.session);
        if request.oob {
            self.session.reply_oob(request.id, result);
        } else {
            self.session.reply(request.id, result);
        }
    }

    /// Bytes the session has not taken yet.
    pub fn unread(&self) -> usize {
        self.pending.len()
    }
}

/// `{"error": {"class": CLASS, "desc": DESC}}` with `id` first when given, as QEMU writes
/// it; `desc` is JSON-escaped by the caller.
pub fn error_line(id: Option<&str>, class: &str, desc: &str) -> String {
    match id {
        Some(id) => format!(
            "{{\"id\": {id}, \"error\": {{\"class\": \"{class}\", \"desc\": \"{desc}\"}}}}\r\n"
        ),
        None => format!("{{\"error\": {{\"class\": \"{class}\", \"desc\": \"{desc}\"}}}}\r\n"),
    }
}

pub fn generic(desc: &str) -> String {
    error_line(None, "GenericError", desc)
}

/// Replaces event timestamps by zeros, so that output from different runs compares.
pub fn zero_timestamps(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["\"seconds\": ", "\"microseconds\": "]
            .iter()
            .filter_map(|key| rest.find(key).map(|i| i + key.len()))
            .min();
        let Some(value_at) = next else { break };
        out.push_str(&rest[..value_at]);
        rest = &rest[value_at..];
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        out.push('0');
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// xorshift64*: small, deterministic, enough to spread test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
