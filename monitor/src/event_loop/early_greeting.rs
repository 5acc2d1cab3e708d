//! Greeting monitor clients while the machine is still being built. Nothing in a greeting
//! needs the machine, so clients that connect during start-up (libvirt, scripts polling the
//! socket) need not wait for KVM set-up. Their commands wait: nothing a client sends is read
//! here; [`EventLoop::run`] reads and answers it in order once the machine exists.

use std::io;
use std::os::fd::RawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::EventLoop;
use crate::chardev::Endpoint;

/// The early poller's token for the `ready` descriptor; monitor `i` listens on `Token(i)`.
const READY: Token = Token(usize::MAX);

impl EventLoop {
    /// Accepts monitor clients and sends their greetings until `ready` becomes readable.
    pub fn greet_until(&mut self, ready: RawFd) -> io::Result<()> {
        // A poller of its own: the loop's poller keeps every readiness edge that arrives
        // meanwhile (client input, signals, machine events) for `run`.
        let mut poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&ready), READY, Interest::READABLE)?;
        let mut listening = vec![false; self.monitors.len()];
        let mut events = Events::with_capacity(8);
        loop {
            for (i, listens) in listening.iter_mut().enumerate() {
                self.greet_pending(i);
                let listener = match &self.monitors[i].chardev.endpoint {
                    Endpoint::Server {
                        listener,
                        client: None,
                    } => Some(listener.raw_fd()),
                    _ => None,
                };
                match (listener, *listens) {
                    (Some(fd), false) => {
                        poll.registry().register(
                            &mut SourceFd(&fd),
                            Token(i),
                            Interest::READABLE,
                        )?;
                        *listens = true;
                    }
                    (None, true) => {
                        // A client took the listener's place (one client at a time).
                        if let Endpoint::Server { listener, .. } =
                            &self.monitors[i].chardev.endpoint
                        {
                            let _ = poll
                                .registry()
                                .deregister(&mut SourceFd(&listener.raw_fd()));
                        }
                        *listens = false;
                    }
                    _ => {}
                }
            }
            if let Err(e) = poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    READY => return Ok(()),
                    Token(i) if i < self.monitors.len() => self.accept_early(i),
                    _ => {}
                }
            }
        }
    }

    /// Accepts a client waiting on monitor `i`'s listener and queues its greeting.
    fn accept_early(&mut self, i: usize) {
        let accepted = match &mut self.monitors[i].chardev.endpoint {
            Endpoint::Server {
                listener,
                client: client @ None,
            } => match listener.accept() {
                Ok(Some(stream)) => {
                    *client = Some(stream);
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    eprintln!("vmm: monitor: {e}");
                    false
                }
            },
            _ => false,
        };
        // With the client attached, arm_monitor registers it with the loop's poller in place
        // of the listener and queues the greeting.
        if accepted {
            if let Err(e) = self.arm_monitor(i) {
                eprintln!("vmm: monitor: {e}");
            }
        }
    }

    /// Writes what monitor `i` has queued (its greeting) to a socket client; a monitor on the
    /// terminal is left to `run`.
    fn greet_pending(&mut self, i: usize) {
        match &self.monitors[i].chardev.endpoint {
            Endpoint::Server {
                client: Some(_), ..
            }
            | Endpoint::Client(Some(_)) => self.flush_monitor(i),
            _ => {}
        }
    }
}
