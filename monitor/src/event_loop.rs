//! The main thread's event loop: every monitor's chardev, the machine's event descriptor,
//! termination signals, and the terminal feeding a serial port. Commands run here, one at a
//! time, so monitors never run commands concurrently (as in QEMU); only their blocking file
//! I/O goes to worker threads ([`crate::jobs`]), whose results come back here.

mod early_greeting;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant, SystemTime};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use qapi::types::{
    ChardevInfo, VersionInfo, YankInstance, YankInstanceChardev, YankInstanceVariant,
};
use qapi::{Command, QapiError};
use serde_json::Value;

use crate::chardev::{Chardev, ChardevError, Endpoint};
use crate::config::{ChardevConfig, MonitorConfig, MonitorMode};
use crate::fdsets::{FdSets, NamedFds};
use crate::jobs::{Finished, JobOwner, JobRunner};
use crate::qmp::{EventThrottle, QmpSession, SessionConfig};
use crate::readline::{crlf, Readline, ReadlineEvent};
use crate::serial_feed::{MuxAction, SerialFeed};
use crate::signals::{kill_report, SignalFd};
use crate::socket_sink::SocketSink;
use crate::vm::{Effects, HmpContext, HostQuit, JobOutput, Reply, Vm};

const MACHINE: Token = Token(0);
const SIGNALS: Token = Token(1);
const STDIN: Token = Token(2);
const SERIAL_SPACE: Token = Token(3);
const JOBS: Token = Token(4);
/// Serial port `p`'s input-space eventfd.
const SERIAL_SPACE_BASE: usize = 8;
/// Monitor `i` uses tokens MONITOR_BASE + 2i (listener) and + 2i + 1 (client).
const MONITOR_BASE: usize = 16;
/// Serial socket chardev `i` uses SERIAL_SOCKET_BASE + 2i (listener) and + 2i + 1 (client).
const SERIAL_SOCKET_BASE: usize = 1 << 20;

const READ_CHUNK: usize = 64 * 1024;

enum Session {
    Qmp(Box<QmpSession>),
    Hmp(Box<HmpSession>),
}

/// A human monitor: QEMU's readline plus the bytes waiting for the client.
#[derive(Default)]
struct HmpSession {
    readline: Readline,
    output: Vec<u8>,
}

impl HmpSession {
    fn wants_input(&self) -> bool {
        self.readline.wants_input()
    }

    /// Feeds input, running each complete line as an HMP command.
    fn feed(&mut self, bytes: &[u8], vm: &mut dyn Vm, context: &mut HmpContext, fx: &mut Effects) {
        let mut completer = |line: &str| vm.hmp_complete(line);
        let mut events = self.readline.feed(bytes, &mut completer);
        loop {
            let mut line_ran = false;
            for event in events {
                match event {
                    ReadlineEvent::Output(out) => self.output.extend(out),
                    ReadlineEvent::Line(line) => {
                        let text = if line.trim().is_empty() {
                            Vec::new()
                        } else {
                            // The line just typed is already in it, as in QEMU.
                            context.history = self.readline.format_history();
                            // The command's text already has `\r\n` line ends (`Vm::hmp`).
                            match vm.hmp(&line, None, context, fx) {
                                Ok(t) => t.into_bytes(),
                                Err(e) => crlf(&format!("Error: {}\n", e.desc)),
                            }
                        };
                        self.output.extend(text);
                        self.output.extend(self.readline.prompt_after_command());
                        line_ran = true;
                    }
                }
            }
            if !line_ran || !self.readline.has_pending_input() || fx.exit.is_some() {
                return;
            }
            let mut completer = |line: &str| vm.hmp_complete(line);
            events = self.readline.feed(&[], &mut completer);
        }
    }
}

/// What one read from a monitor's client gave.
enum ClientRead {
    /// This many bytes, in the loop's buffer.
    Data(usize),
    /// Nothing now (would block, or interrupted).
    Again,
    /// End of input, a read error, or no client.
    Closed,
}

struct Monitor {
    chardev: Chardev,
    mode: MonitorMode,
    pretty: bool,
    session: Option<Session>,
    readable: bool,
    writable: bool,
    /// Descriptors received with the latest message, for getfd/add-fd.
    received_fds: Vec<OwnedFd>,
    named_fds: NamedFds,
    /// Counts the slot's connections, so a job's reply reaches only the client that asked.
    generation: u64,
    /// A human monitor's readline between connections: QEMU keeps one per monitor, so the
    /// history outlives the client.
    kept_readline: Option<Readline>,
}

/// A chardev no monitor uses (a serial port's), listed by `query-chardev`.
pub struct PassiveChardev {
    pub label: String,
    pub filename: String,
}

/// A serial port whose chardev is a socket.
pub struct SerialSocket {
    pub port: usize,
    pub chardev: ChardevConfig,
    /// Where the port's output goes; the loop attaches the connected client.
    pub sink: SocketSink,
}

struct SerialConn {
    chardev: Chardev,
    sink: SocketSink,
    feed: SerialFeed,
}

pub struct LoopConfig {
    /// Serial ports on socket chardevs.
    pub serial_sockets: Vec<SerialSocket>,
    pub monitors: Vec<MonitorConfig>,
    pub chardevs: Vec<ChardevConfig>,
    /// Chardevs serial ports use, for `query-chardev`.
    pub passive_chardevs: Vec<PassiveChardev>,
    /// The serial port the terminal feeds, and whether the Ctrl-A mux is on.
    pub stdin_serial: Option<(usize, bool)>,
    /// A human monitor shares the terminal through the mux (`-nographic`, `mon:stdio`).
    pub mux_monitor: bool,
    pub version: VersionInfo,
}

pub struct EventLoop {
    poll: Poll,
    monitors: Vec<Monitor>,
    serial_conns: Vec<SerialConn>,
    passive: Vec<PassiveChardev>,
    signals: SignalFd,
    stdin: Option<SerialFeed>,
    /// The human monitor on the terminal mux, and whether it has shown its greeting.
    mux_monitor: Option<(HmpSession, bool)>,
    throttle: EventThrottle,
    fdsets: FdSets,
    jobs: JobRunner,
    version: VersionInfo,
    exit: Option<i32>,
    buf: Vec<u8>,
}

fn listener_token(i: usize) -> Token {
    Token(MONITOR_BASE + 2 * i)
}

fn client_token(i: usize) -> Token {
    Token(MONITOR_BASE + 2 * i + 1)
}

impl EventLoop {
    /// Opens every monitor's chardev (blocking for `wait=on` servers, as QEMU does at
    /// start-up) and registers everything with a new poller, without the machine: monitor
    /// clients are accepted and greeted while the machine is still being built (see
    /// [`Self::greet_until`]); [`Self::attach_machine`] completes it.
    pub fn open(
        config: LoopConfig,
        machine_event_fd: RawFd,
        signals: SignalFd,
    ) -> Result<EventLoop, LoopError> {
        let poll = Poll::new()?;
        let mut monitors = Vec::new();
        for m in &config.monitors {
            let chardev_config = config
                .chardevs
                .iter()
                .find(|c| c.id == m.chardev)
                .ok_or_else(|| LoopError::NoChardev(m.chardev.clone()))?;
            let mut chardev = Chardev::open(chardev_config)?;
            if chardev.wait_requested() {
                wait_or_terminate(&mut chardev, &signals)?;
            }
            monitors.push(Monitor {
                chardev,
                mode: m.mode,
                pretty: m.pretty,
                session: None,
                readable: true,
                writable: true,
                received_fds: Vec::new(),
                named_fds: NamedFds::default(),
                generation: 0,
                kept_readline: None,
            });
        }
        let mut serial_conns = Vec::new();
        for s in config.serial_sockets {
            let mut chardev = Chardev::open(&s.chardev)?;
            if chardev.wait_requested() {
                wait_or_terminate(&mut chardev, &signals)?;
            }
            serial_conns.push(SerialConn {
                chardev,
                sink: s.sink,
                feed: SerialFeed::new(s.port, false),
            });
        }
        let registry = poll.registry();
        registry.register(
            &mut SourceFd(&machine_event_fd),
            MACHINE,
            Interest::READABLE,
        )?;
        registry.register(
            &mut SourceFd(&signals.as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let mut stdin = None;
        if let Some((port, mux)) = config.stdin_serial {
            // An unpollable stdin (a regular file) just gives no input.
            if registry
                .register(&mut SourceFd(&0), STDIN, Interest::READABLE)
                .is_ok()
            {
                stdin = Some(SerialFeed::new(port, mux));
            }
        }
        let jobs = JobRunner::new(poll.registry(), JOBS)?;
        let mut lp = EventLoop {
            jobs,
            poll,
            monitors,
            serial_conns,
            passive: config.passive_chardevs,
            signals,
            stdin,
            mux_monitor: config.mux_monitor.then(|| (HmpSession::default(), false)),
            throttle: EventThrottle::new(),
            fdsets: FdSets::default(),
            version: config.version,
            exit: None,
            buf: vec![0; READ_CHUNK],
        };
        for i in 0..lp.monitors.len() {
            lp.arm_monitor(i)?;
        }
        for i in 0..lp.serial_conns.len() {
            lp.arm_serial(i)?;
        }
        Ok(lp)
    }

    /// Registers the machine's serial input-space descriptors (for the terminal and serial
    /// sockets), which exist once the machine does.
    pub fn attach_machine(&mut self, vm: &dyn Vm) -> io::Result<()> {
        let registry = self.poll.registry();
        for c in &self.serial_conns {
            if let Some(fd) = vm.serial_space_fd(c.feed.port) {
                registry.register(
                    &mut SourceFd(&fd),
                    Token(SERIAL_SPACE_BASE + c.feed.port),
                    Interest::READABLE,
                )?;
            }
        }
        if let Some(feed) = &self.stdin {
            if let Some(fd) = vm.serial_space_fd(feed.port) {
                registry.register(&mut SourceFd(&fd), SERIAL_SPACE, Interest::READABLE)?;
            }
        }
        Ok(())
    }

    /// Registers monitor `i`: its client if one is attached (greeting it), else its listener.
    fn arm_monitor(&mut self, i: usize) -> io::Result<()> {
        let version = self.version.clone();
        let registry = self.poll.registry();
        let m = &mut self.monitors[i];
        let has_client = match &mut m.chardev.endpoint {
            Endpoint::Server {
                client: None,
                listener,
            } => match listener.accept()? {
                Some(stream) => {
                    if let Endpoint::Server { client, .. } = &mut m.chardev.endpoint {
                        *client = Some(stream);
                    }
                    true
                }
                None => {
                    registry.register(
                        &mut SourceFd(&listener.raw_fd()),
                        listener_token(i),
                        Interest::READABLE,
                    )?;
                    false
                }
            },
            Endpoint::Server {
                client: Some(_), ..
            }
            | Endpoint::Client(Some(_)) => true,
            Endpoint::Stdio(_) => true,
            Endpoint::Client(None) => false,
        };
        if !has_client {
            return Ok(());
        }
        if let Endpoint::Server { listener, .. } = &m.chardev.endpoint {
            // One client at a time: others wait in the backlog until this one leaves.
            let _ = registry.deregister(&mut SourceFd(&listener.raw_fd()));
        }
        match &m.chardev.endpoint {
            Endpoint::Stdio(_) => {
                registry.register(&mut SourceFd(&0), client_token(i), Interest::READABLE)?;
            }
            _ => {
                if let Some(stream) = m.chardev.client_mut() {
                    let fd = stream.raw_fd();
                    registry.register(
                        &mut SourceFd(&fd),
                        client_token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                }
            }
        }
        m.readable = true;
        m.writable = true;
        m.generation += 1;
        m.session = Some(match m.mode {
            MonitorMode::Control => {
                let mut s = QmpSession::new(SessionConfig {
                    pretty: m.pretty,
                    oob_offered: true,
                });
                s.queue_greeting(&version);
                Session::Qmp(Box::new(s))
            }
            MonitorMode::Readline => {
                let mut readline = m.kept_readline.take().unwrap_or_default();
                let output = readline.new_client();
                Session::Hmp(Box::new(HmpSession { readline, output }))
            }
        });
        Ok(())
    }

    /// Runs until the VM asks to exit; returns the exit status.
    pub fn run(mut self, vm: &mut dyn Vm) -> i32 {
        let mut events = Events::with_capacity(64);
        // Monitors greeted at start-up.
        for i in 0..self.monitors.len() {
            self.service_monitor(i, vm);
        }
        while self.exit.is_none() {
            let timeout = self
                .throttle
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!("vmm: main loop: {e}");
                return 1;
            }
            for event in events.iter() {
                match event.token() {
                    MACHINE => {
                        let mut fx = Effects::default();
                        vm.handle_machine_events(&mut fx);
                        self.apply(fx);
                    }
                    JOBS => self.finish_jobs(vm),
                    SIGNALS => {
                        while let Some(t) = self.signals.read() {
                            eprintln!("vmm: {}", kill_report(&t));
                            let mut fx = Effects::default();
                            vm.host_quit(HostQuit::Signal, &mut fx);
                            self.apply(fx);
                        }
                    }
                    STDIN => {
                        if let Some(f) = &mut self.stdin {
                            f.readable = true;
                        }
                    }
                    SERIAL_SPACE => {}
                    Token(t) if t >= SERIAL_SOCKET_BASE => {
                        let i = (t - SERIAL_SOCKET_BASE) / 2;
                        if i < self.serial_conns.len() {
                            if (t - SERIAL_SOCKET_BASE) % 2 == 0 {
                                if let Err(e) = self.arm_serial(i) {
                                    eprintln!("vmm: serial: {e}");
                                }
                            } else {
                                self.serial_conns[i].feed.readable = true;
                            }
                        }
                    }
                    Token(t) if (SERIAL_SPACE_BASE..MONITOR_BASE).contains(&t) => {
                        if let Some(fd) = vm.serial_space_fd(t - SERIAL_SPACE_BASE) {
                            let mut counter = [0u8; 8];
                            // SAFETY: drains an eventfd counter into a local buffer.
                            unsafe { libc::read(fd, counter.as_mut_ptr().cast(), 8) };
                        }
                    }
                    Token(t) if t >= MONITOR_BASE => {
                        let i = (t - MONITOR_BASE) / 2;
                        if i >= self.monitors.len() {
                            continue;
                        }
                        if (t - MONITOR_BASE) % 2 == 0 {
                            if let Err(e) = self.arm_monitor(i) {
                                eprintln!("vmm: monitor: {e}");
                            }
                        } else {
                            let m = &mut self.monitors[i];
                            m.readable |= event.is_readable() || event.is_read_closed();
                            m.writable |= event.is_writable();
                        }
                        self.service_monitor(i, vm);
                    }
                    _ => {}
                }
            }
            let due = self.throttle.expire(Instant::now());
            for line in due {
                self.broadcast_line(&line);
            }
            self.pump_stdin(vm);
            self.pump_serial_sockets(vm);
            for i in 0..self.monitors.len() {
                self.flush_monitor(i);
            }
        }
        // Send what is queued (the reply to `quit`) before going.
        for i in 0..self.monitors.len() {
            self.flush_monitor(i);
        }
        vm.shutdown();
        self.exit.unwrap_or(0)
    }

    /// Sends raised events and records an exit request.
    fn apply(&mut self, fx: Effects) {
        let now = Instant::now();
        for event in &fx.events {
            if let Some(line) = self.throttle.offer(event, SystemTime::now(), now) {
                self.broadcast_line(&line);
            }
        }
        if fx.exit.is_some() {
            self.exit = fx.exit;
        }
    }

    fn broadcast_line(&mut self, line: &str) {
        for m in &mut self.monitors {
            if let Some(Session::Qmp(s)) = &mut m.session {
                s.event(line);
            }
        }
    }

    /// One read from monitor `i`'s client, keeping descriptors that came with it for
    /// getfd/add-fd.
    fn read_client(&mut self, i: usize) -> ClientRead {
        let m = &mut self.monitors[i];
        let Some(stream) = m.chardev.client_mut() else {
            return ClientRead::Closed;
        };
        let mut fds = Vec::new();
        match stream.read_with_fds(&mut self.buf, &mut fds) {
            Ok(0) => ClientRead::Closed,
            Ok(n) => {
                if !fds.is_empty() {
                    m.received_fds = fds;
                }
                ClientRead::Data(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                m.readable = false;
                ClientRead::Again
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ClientRead::Again,
            Err(_) => ClientRead::Closed,
        }
    }

    /// Reads, dispatches and writes for monitor `i` until it can make no more progress.
    fn service_monitor(&mut self, i: usize, vm: &mut dyn Vm) {
        loop {
            let mut progress = false;
            // Input, while the session takes it (QEMU's flow control).
            let wants = match &self.monitors[i].session {
                Some(Session::Qmp(s)) => s.wants_input(),
                Some(Session::Hmp(h)) => h.wants_input(),
                None => false,
            };
            if wants && self.monitors[i].readable {
                match self.read_client(i) {
                    ClientRead::Closed => {
                        self.disconnect(i);
                        return;
                    }
                    ClientRead::Again => {}
                    ClientRead::Data(n) => {
                        let is_hmp = matches!(self.monitors[i].session, Some(Session::Hmp(_)));
                        let mut context = if is_hmp {
                            self.hmp_context()
                        } else {
                            HmpContext::default()
                        };
                        let m = &mut self.monitors[i];
                        match &mut m.session {
                            Some(Session::Qmp(s)) => s.feed(&self.buf[..n]),
                            Some(Session::Hmp(h)) => {
                                let mut fx = Effects::default();
                                h.feed(&self.buf[..n], vm, &mut context, &mut fx);
                                self.apply(fx);
                            }
                            None => {}
                        }
                        progress = true;
                    }
                }
            }
            progress |= self.dispatch(i, vm);
            self.flush_monitor(i);
            if !progress || self.exit.is_some() {
                return;
            }
        }
    }

    /// Runs the requests monitor `i` has ready; true if any ran.
    fn dispatch(&mut self, i: usize, vm: &mut dyn Vm) -> bool {
        let mut ran = false;
        loop {
            let request = match &mut self.monitors[i].session {
                Some(Session::Qmp(s)) => match s.next_request() {
                    Some(r) => r,
                    None => return ran,
                },
                Some(Session::Hmp(_)) => return ran,
                None => return ran,
            };
            ran = true;
            let mut fx = Effects::default();
            let reply = self.execute(i, request.command, vm, &mut fx);
            self.apply(fx);
            let owner = JobOwner {
                monitor: i,
                generation: self.monitors[i].generation,
                id: request.id,
                oob: request.oob,
            };
            self.answer(owner, reply);
            if self.exit.is_some() {
                return ran;
            }
        }
    }

    /// Replies now, or hands the job to a worker (the session keeps the request running).
    fn answer(&mut self, owner: JobOwner, reply: Reply) {
        let result = match reply {
            Reply::Now(result) => result,
            Reply::Later(job) => return self.jobs.spawn(owner, job),
        };
        let m = &mut self.monitors[owner.monitor];
        if m.generation != owner.generation {
            return; // That client left; another may be in the slot now.
        }
        if let Some(Session::Qmp(s)) = &mut m.session {
            if owner.oob {
                s.reply_oob(owner.id, result);
            } else {
                s.reply(owner.id, result);
            }
        }
    }

    /// Takes finished jobs: the machine's next step, then the reply, which lets the
    /// monitor go on with its queue.
    fn finish_jobs(&mut self, vm: &mut dyn Vm) {
        while let Some(Finished { owner, output }) = self.jobs.try_recv() {
            let mut fx = Effects::default();
            let reply = match output {
                JobOutput::Done(result) => Reply::Now(result),
                // Even if the client left: the machine may have to resume (a dump).
                JobOutput::Step(state) => vm.job_step(state, &mut fx),
            };
            self.apply(fx);
            let i = owner.monitor;
            self.answer(owner, reply);
            if self.exit.is_some() {
                return;
            }
            self.service_monitor(i, vm);
        }
    }

    /// Commands the monitor layer answers itself; the rest go to the machine.
    fn execute(&mut self, i: usize, command: Command, vm: &mut dyn Vm, fx: &mut Effects) -> Reply {
        let to_value = |v: Result<(), QapiError>| v.map(|()| Value::Object(Default::default()));
        let m = &mut self.monitors[i];
        let mut take_fd = || {
            let fds = std::mem::take(&mut m.received_fds);
            fds.into_iter().next()
        };
        Reply::Now(match command {
            Command::QueryChardev => {
                Ok(serde_json::to_value(self.chardev_info()).unwrap_or(Value::Null))
            }
            Command::Getfd(a) => {
                let fd = take_fd();
                to_value(self.monitors[i].named_fds.getfd(&a.fdname, fd))
            }
            Command::Closefd(a) => to_value(self.monitors[i].named_fds.closefd(&a.fdname)),
            Command::AddFd(a) => {
                let fd = take_fd();
                self.fdsets
                    .add(a.fdset_id, a.opaque, fd)
                    .map(|info| serde_json::to_value(info).unwrap_or(Value::Null))
            }
            Command::RemoveFd(a) => to_value(self.fdsets.remove(a.fdset_id, a.fd)),
            Command::QueryFdsets => {
                Ok(serde_json::to_value(self.fdsets.query()).unwrap_or(Value::Null))
            }
            Command::QueryVersion => Ok(serde_json::to_value(&self.version).unwrap_or(Value::Null)),
            Command::QueryYank => {
                Ok(serde_json::to_value(self.yank_instances()).unwrap_or(Value::Null))
            }
            Command::Yank(a) => self
                .yank(&a.instances)
                .map(|()| Value::Object(Default::default())),
            Command::HumanMonitorCommand(a) => {
                let context = self.hmp_context();
                vm.hmp(&a.command_line, a.cpu_index, &context, fx)
                    .map(Value::String)
            }
            other => return vm.execute(other, &mut self.monitors[i].named_fds, fx),
        })
    }

    /// Socket chardevs register a yank instance in QEMU; nothing else here does.
    fn yank_instances(&self) -> Vec<YankInstance> {
        let sockets = self
            .monitors
            .iter()
            .map(|m| &m.chardev)
            .chain(self.serial_conns.iter().map(|c| &c.chardev))
            .filter(|c| c.is_socket());
        sockets
            .map(|c| YankInstance {
                r#type: YankInstanceVariant::Chardev(YankInstanceChardev {
                    id: c.label().to_string(),
                }),
            })
            .collect()
    }

    /// `yank`: every instance must exist (or nothing is done); a chardev's connection is cut.
    fn yank(&mut self, instances: &[YankInstance]) -> Result<(), QapiError> {
        let known = self.yank_instances();
        if instances.iter().any(|i| !known.contains(i)) {
            return Err(QapiError {
                class: qapi::ErrorClass::DeviceNotFound,
                desc: "Instance not found".into(),
            });
        }
        for inst in instances {
            if let YankInstanceVariant::Chardev(c) = &inst.r#type {
                if let Some(i) = self.monitors.iter().position(|m| m.chardev.label() == c.id) {
                    self.disconnect(i);
                } else if let Some(i) = self
                    .serial_conns
                    .iter()
                    .position(|s| s.chardev.label() == c.id)
                {
                    self.disconnect_serial(i);
                }
            }
        }
        Ok(())
    }

    fn hmp_context(&self) -> HmpContext {
        HmpContext {
            chardevs: self.chardev_info(),
            history: String::new(),
        }
    }

    fn chardev_info(&self) -> Vec<ChardevInfo> {
        let mut list: Vec<ChardevInfo> = self
            .monitors
            .iter()
            .map(|m| ChardevInfo {
                label: m.chardev.label().to_string(),
                filename: m.chardev.filename(),
                frontend_open: m.chardev.connected(),
            })
            .collect();
        list.extend(self.serial_conns.iter().map(|c| ChardevInfo {
            label: c.chardev.label().to_string(),
            filename: c.chardev.filename(),
            frontend_open: true,
        }));
        list.extend(self.passive.iter().map(|p| ChardevInfo {
            label: p.label.clone(),
            filename: p.filename.clone(),
            frontend_open: true,
        }));
        list
    }

    fn flush_monitor(&mut self, i: usize) {
        let m = &mut self.monitors[i];
        let Some(stream) = m.chardev.client_mut() else {
            return;
        };
        let mut failed = false;
        while m.writable {
            let pending: &[u8] = match &mut m.session {
                Some(Session::Qmp(s)) => s.output().pending(),
                Some(Session::Hmp(h)) => &h.output,
                None => return,
            };
            if pending.is_empty() {
                break;
            }
            match stream.write(pending) {
                Ok(0) => m.writable = false,
                Ok(n) => match &mut m.session {
                    Some(Session::Qmp(s)) => s.output().consume(n),
                    Some(Session::Hmp(h)) => {
                        h.output.drain(..n);
                    }
                    None => return,
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => m.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.disconnect(i);
        }
    }

    /// The client left: drop its session and serve the next one waiting in the backlog.
    fn disconnect(&mut self, i: usize) {
        let registry: &Registry = self.poll.registry();
        let m = &mut self.monitors[i];
        if let Some(Session::Hmp(h)) = m.session.take() {
            m.kept_readline = Some(h.readline);
        }
        m.received_fds.clear();
        match &mut m.chardev.endpoint {
            Endpoint::Server { client, .. } => {
                if let Some(stream) = client.take() {
                    let _ = registry.deregister(&mut SourceFd(&stream.raw_fd()));
                }
            }
            Endpoint::Client(stream) => {
                if let Some(s) = stream.take() {
                    let _ = registry.deregister(&mut SourceFd(&s.raw_fd()));
                }
            }
            Endpoint::Stdio(_) => {
                let _ = registry.deregister(&mut SourceFd(&0));
                return;
            }
        }
        if let Err(e) = self.arm_monitor(i) {
            eprintln!("vmm: monitor: {e}");
        }
    }

    /// Registers serial socket `i`: its client if attached (plugging it into the port's
    /// output), else its listener.
    fn arm_serial(&mut self, i: usize) -> io::Result<()> {
        let registry = self.poll.registry();
        let c = &mut self.serial_conns[i];
        if let Endpoint::Server { listener, client } = &mut c.chardev.endpoint {
            if client.is_none() {
                *client = listener.accept()?;
            }
            if client.is_none() {
                registry.register(
                    &mut SourceFd(&listener.raw_fd()),
                    Token(SERIAL_SOCKET_BASE + 2 * i),
                    Interest::READABLE,
                )?;
                return Ok(());
            }
            let _ = registry.deregister(&mut SourceFd(&listener.raw_fd()));
        }
        let Some(stream) = c.chardev.client_mut() else {
            return Ok(());
        };
        let fd = stream.raw_fd();
        registry.register(
            &mut SourceFd(&fd),
            Token(SERIAL_SOCKET_BASE + 2 * i + 1),
            Interest::READABLE,
        )?;
        // SAFETY: duplicates a descriptor we own; the copy goes to the port's output.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup >= 0 {
            // SAFETY: `dup` is a fresh descriptor owned by nobody else.
            c.sink.attach(Some(unsafe {
                <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(dup)
            }));
        }
        c.feed.readable = true;
        c.feed.eof = false;
        Ok(())
    }

    /// Moves socket input into serial ports; a client that leaves lets the next one in.
    fn pump_serial_sockets(&mut self, vm: &mut dyn Vm) {
        for i in 0..self.serial_conns.len() {
            let mut gone = false;
            {
                let c = &mut self.serial_conns[i];
                loop {
                    while c.feed.has_pending() {
                        let n = vm.serial_input(c.feed.port, c.feed.pending_front());
                        if n == 0 {
                            break;
                        }
                        c.feed.consume(n);
                    }
                    if c.feed.has_pending() || !c.feed.readable {
                        break;
                    }
                    let Some(stream) = c.chardev.client_mut() else {
                        break;
                    };
                    match stream.read(&mut self.buf) {
                        Ok(0) => {
                            gone = true;
                            break;
                        }
                        Ok(n) => {
                            c.feed.input(&self.buf[..n]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.feed.readable = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            gone = true;
                            break;
                        }
                    }
                }
            }
            if gone {
                self.disconnect_serial(i);
            }
        }
    }

    /// Cuts serial socket `i`'s connection (hang-up, error or `yank`); a server listens again.
    fn disconnect_serial(&mut self, i: usize) {
        let c = &mut self.serial_conns[i];
        c.sink.attach(None);
        let registry = self.poll.registry();
        match &mut c.chardev.endpoint {
            Endpoint::Server { client, .. } => {
                if let Some(s) = client.take() {
                    let _ = registry.deregister(&mut SourceFd(&s.raw_fd()));
                }
                if let Err(e) = self.arm_serial(i) {
                    eprintln!("vmm: serial: {e}");
                }
            }
            Endpoint::Client(s) => {
                if let Some(s) = s.take() {
                    let _ = registry.deregister(&mut SourceFd(&s.raw_fd()));
                }
            }
            Endpoint::Stdio(_) => {}
        }
    }

    /// Ctrl-A c: the terminal goes to the monitor (greeting the first time) or back.
    fn switch_focus(&mut self) {
        let (Some(feed), Some((hmp, greeted))) = (&mut self.stdin, &mut self.mux_monitor) else {
            return;
        };
        feed.monitor_focus = !feed.monitor_focus;
        let out = if feed.monitor_focus {
            let mut out = Vec::new();
            if !*greeted {
                *greeted = true;
                out.extend_from_slice(crate::readline::GREETING.as_bytes());
            }
            out.extend(hmp.readline.mux_in());
            out
        } else {
            hmp.readline.mux_out()
        };
        crate::serial_feed::write_stdout(&out);
    }

    /// Runs what was typed to the monitor on the terminal mux.
    fn mux_monitor_input(&mut self, vm: &mut dyn Vm) {
        let (Some(feed), Some(_)) = (&mut self.stdin, &self.mux_monitor) else {
            return;
        };
        let input = feed.take_monitor_input();
        if input.is_empty() {
            return;
        }
        let mut context = self.hmp_context();
        let Some((hmp, _)) = &mut self.mux_monitor else {
            return;
        };
        let mut fx = Effects::default();
        hmp.feed(&input, vm, &mut context, &mut fx);
        let out = std::mem::take(&mut hmp.output);
        crate::serial_feed::write_stdout(&out);
        self.apply(fx);
    }

    /// Moves terminal input into the serial port as far as its FIFO allows.
    fn pump_stdin(&mut self, vm: &mut dyn Vm) {
        loop {
            let Some(feed) = &mut self.stdin else { return };
            while feed.has_pending() {
                let n = vm.serial_input(feed.port, feed.pending_front());
                if n == 0 {
                    return;
                }
                feed.consume(n);
            }
            if feed.take_break() {
                vm.serial_break(feed.port);
                continue;
            }
            if !feed.readable || feed.eof {
                return;
            }
            match crate::chardev::Stream::Stdio.read(&mut self.buf) {
                Ok(0) => {
                    feed.eof = true;
                    let _ = self.poll.registry().deregister(&mut SourceFd(&0));
                    return;
                }
                Ok(n) => {
                    let input = self.buf[..n].to_vec();
                    let mut at = 0;
                    while at < input.len() {
                        let Some(feed) = &mut self.stdin else { return };
                        let (action, used) = feed.input_from(&input[at..]);
                        at += used;
                        self.mux_monitor_input(vm);
                        match action {
                            MuxAction::Quit => {
                                let mut fx = Effects::default();
                                vm.host_quit(HostQuit::Ui, &mut fx);
                                self.apply(fx);
                                return;
                            }
                            MuxAction::SwitchFocus => self.switch_focus(),
                            MuxAction::None => {}
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    feed.readable = false;
                    return;
                }
                Err(_) => {
                    feed.eof = true;
                    return;
                }
            }
        }
    }
}

/// `wait=on`: blocks for the first client; a termination signal meanwhile ends start-up.
fn wait_or_terminate(chardev: &mut Chardev, signals: &SignalFd) -> Result<(), LoopError> {
    match chardev.wait_for_client(signals.as_raw_fd()) {
        Err(ChardevError::Accept(e)) if e.kind() == io::ErrorKind::Interrupted => {
            let report = signals
                .read()
                .map(|t| kill_report(&t))
                .unwrap_or_else(|| "terminating".into());
            Err(LoopError::Terminated(report))
        }
        other => Ok(other?),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    /// A termination signal arrived during start-up (while waiting for a client).
    #[error("{0}")]
    Terminated(String),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Chardev(#[from] ChardevError),
    #[error("chardev \"{0}\" not found")]
    NoChardev(String),
}

/// How long the loop may sleep at most with nothing scheduled.
pub const IDLE: Option<Duration> = None;
