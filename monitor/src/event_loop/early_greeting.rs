//! Serving monitor clients while the machine is still being built. Nothing in a greeting or
//! in capabilities negotiation needs the machine, so clients that connect during start-up
//! (libvirt, scripts polling the socket) need not wait for KVM set-up. A QMP session answers
//! negotiation and its built-in commands itself and holds the first request for the machine,
//! reading no further (as QEMU's suspended reader); [`EventLoop::run`] runs it, in order,
//! once the machine exists. Human monitors only get their banner here.

use std::io;
use std::os::fd::RawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use super::{ClientRead, EventLoop, Session};
use crate::chardev::Endpoint;

/// The early poller's token for the `ready` descriptor; monitor `i` listens on `Token(2i)`
/// and its client reads on `Token(2i + 1)`.
const READY: Token = Token(usize::MAX);

/// A descriptor the early poller watches, as last registered.
#[derive(Default, Clone, Copy)]
struct Watched(Option<RawFd>);

impl Watched {
    /// Watches `want` instead of what was watched before.
    fn set(&mut self, registry: &Registry, want: Option<RawFd>, token: Token) -> io::Result<()> {
        if self.0 == want {
            return Ok(());
        }
        if let Some(old) = self.0.take() {
            // Fails harmlessly when the descriptor was closed (and so left the poller).
            let _ = registry.deregister(&mut SourceFd(&old));
        }
        if let Some(fd) = want {
            registry.register(&mut SourceFd(&fd), token, Interest::READABLE)?;
        }
        self.0 = want;
        Ok(())
    }
}

impl EventLoop {
    /// Accepts monitor clients, greets them and serves QMP negotiation until `ready` becomes
    /// readable.
    pub fn greet_until(&mut self, ready: RawFd) -> io::Result<()> {
        // A poller of its own: the loop's poller keeps every readiness edge that arrives
        // meanwhile (client input, signals, machine events) for `run`.
        let mut poll = Poll::new()?;
        poll.registry()
            .register(&mut SourceFd(&ready), READY, Interest::READABLE)?;
        let mut listeners = vec![Watched::default(); self.monitors.len()];
        let mut clients = vec![Watched::default(); self.monitors.len()];
        let mut events = Events::with_capacity(8);
        loop {
            for i in 0..self.monitors.len() {
                self.serve_early(i);
                let (listener, client) = self.early_fds(i);
                listeners[i].set(poll.registry(), listener, Token(2 * i))?;
                clients[i].set(poll.registry(), client, Token(2 * i + 1))?;
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
                    Token(t) if t / 2 < self.monitors.len() => {
                        if t % 2 == 0 {
                            self.accept_early(t / 2);
                        } else {
                            self.monitors[t / 2].readable = true;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Monitor `i`'s listener while it has no client, and its socket client's descriptor.
    fn early_fds(&self, i: usize) -> (Option<RawFd>, Option<RawFd>) {
        match &self.monitors[i].chardev.endpoint {
            Endpoint::Server {
                listener,
                client: None,
            } => (Some(listener.raw_fd()), None),
            Endpoint::Server {
                client: Some(stream),
                ..
            }
            | Endpoint::Client(Some(stream)) => (None, Some(stream.raw_fd())),
            _ => (None, None),
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

    /// Reads what a QMP client of monitor `i` sent while its session takes input, and writes
    /// what the session has to say (the greeting, negotiation replies). A monitor on the
    /// terminal is left to `run`. End of input and read errors are left to `run` too, which
    /// meets them again and disconnects the client.
    fn serve_early(&mut self, i: usize) {
        if matches!(self.monitors[i].chardev.endpoint, Endpoint::Stdio(_)) {
            return;
        }
        while self.monitors[i].readable {
            let wants =
                matches!(&self.monitors[i].session, Some(Session::Qmp(s)) if s.wants_input());
            if !wants {
                break;
            }
            match self.read_client(i) {
                ClientRead::Closed => break,
                ClientRead::Again => {}
                ClientRead::Data(n) => {
                    if let Some(Session::Qmp(session)) = &mut self.monitors[i].session {
                        session.feed(&self.buf[..n]);
                    }
                }
            }
        }
        self.flush_monitor(i);
    }
}
