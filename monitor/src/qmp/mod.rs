//! The QMP protocol, byte-compatible with QEMU 10, free of I/O: the caller owns sockets,
//! timers and the machine; this module turns input bytes into checked requests and
//! replies, events and the greeting into output bytes.
//!
//! * [`QmpSession`]: one client connection (a new one per connection: capabilities and
//!   queues reset). It parses the stream, runs capabilities negotiation, checks requests
//!   with QEMU's rules and texts (shape, command table, OOB, preconfig, arguments via
//!   [`qapi`]), keeps QEMU's request queue and flow control, and answers by itself every
//!   error and the commands that need no machine: `qmp_capabilities`, `query-commands`
//!   and `query-qmp-schema`. Everything else comes out of
//!   [`next_request`](QmpSession::next_request) as a typed [`qapi::Command`].
//! * [`format_event`] and [`EventThrottle`]: event lines with their creation time, and
//!   QEMU's 1-per-second limit for the noisy events.
//!
//! Driving one session (one thread, non-blocking socket):
//!
//! ```text
//! let mut s = QmpSession::new(SessionConfig { pretty: false, oob_offered: true });
//! s.queue_greeting(&version);                     // before reading anything
//! loop {
//!     // Read only while the session wants input: this is QEMU's backpressure, the
//!     // rest stays in the kernel's socket buffer.
//!     if s.wants_input() && readable {
//!         match read(fd, &mut buf) { 0 => break /* drop the session */, n => s.feed(&buf[..n]) }
//!     }
//!     while let Some(req) = s.next_request() {   // OOB first, then the in-band one
//!         let result = machine.run(req.command);  // events it raises: s.event(&line) first
//!         if req.oob { s.reply_oob(req.id, result) } else { s.reply(req.id, result) }
//!     }                                           // (a reply may release queued requests)
//!     let n = write(fd, s.output().pending());    // as much as the socket takes
//!     s.output().consume(n);
//!     // poll: readable iff s.wants_input(), writable iff !s.output().is_empty(),
//!     // timeout: the throttle's next_deadline().
//! }
//! ```
//!
//! An in-band request may also be held (a long-running command) and answered later with
//! [`reply`](QmpSession::reply); meanwhile, with OOB enabled, input goes on (up to
//! [`QUEUE_LEN_MAX`] queued requests) and OOB requests still come out of `next_request`.
//!
//! Events: format each once with [`format_event`] (or get it from
//! [`EventThrottle::offer`]/[`EventThrottle::expire`]), then give the line to every
//! session's [`event`](QmpSession::event). Events raised while a command runs must be
//! given before its reply, as QEMU sends them.

mod builtin;
mod error;
mod event;
mod output;
mod pretty;
mod request;
mod response;
mod session;
mod throttle;

pub use error::{NegotiationError, RequestError};
pub use event::{format_event, format_event_parts};
pub use output::OutputBuffer;
pub use session::{QmpSession, Request, SessionConfig, QUEUE_LEN_MAX};
pub use throttle::{EventThrottle, THROTTLE_PERIOD};

#[cfg(test)]
mod tests;
