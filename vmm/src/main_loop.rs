//! The main thread's event loop: machine events from vCPUs and devices, termination signals,
//! and the terminal feeding a serial port (with the Ctrl-A mux when a monitor shares it).

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;

use devices::bus::lock;
use devices::MachineRequest;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::machine::Machine;
use crate::machine_events::MachineEvent;
use crate::run_state::{RunState, ShutdownCause};
use crate::serial_backends::{write_stdout, StdinPort};
use crate::signals::{kill_report, SignalFd};
use crate::vcpu::VcpuEvent;

const MACHINE_EVENTS: Token = Token(0);
const SIGNALS: Token = Token(1);
const STDIN: Token = Token(2);
const SERIAL_SPACE: Token = Token(3);

const CTRL_A: u8 = 0x01;
/// Read at most this much terminal input ahead of the guest.
const STDIN_CHUNK: usize = 4096;

const MUX_HELP: &[&str] = &[
    "% h    print this help\n\r",
    "% x    exit emulator\n\r",
    "% s    save disk data back to file (if -snapshot)\n\r",
    "% t    toggle console timestamps\n\r",
    "% b    send break (magic sysrq)\n\r",
    "% c    switch between console and monitor\n\r",
    "% %  sends %\n\r",
];

/// Terminal input on its way to a serial port.
struct StdinFeed {
    port: StdinPort,
    pending: VecDeque<u8>,
    escape: bool,
    /// stdin reported readable and has not been drained yet.
    readable: bool,
    eof: bool,
}

pub struct MainLoop {
    poll: Poll,
    machine: Machine,
    events: Receiver<MachineEvent>,
    signals: SignalFd,
    stdin: Option<StdinFeed>,
    exit_code: Option<i32>,
}

impl MainLoop {
    pub fn new(
        machine: Machine,
        events: Receiver<MachineEvent>,
        events_fd: &vmm_sys_util::eventfd::EventFd,
        signals: SignalFd,
        stdin_port: Option<StdinPort>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry();
        registry.register(
            &mut SourceFd(&events_fd.as_raw_fd()),
            MACHINE_EVENTS,
            Interest::READABLE,
        )?;
        registry.register(
            &mut SourceFd(&signals.as_raw_fd()),
            SIGNALS,
            Interest::READABLE,
        )?;
        let mut stdin = None;
        if let Some(port) = stdin_port {
            // A closed or unpollable stdin (a regular file, /dev/null) just gives no input.
            if registry
                .register(&mut SourceFd(&0), STDIN, Interest::READABLE)
                .is_ok()
            {
                if let Some(space) = machine.serial_input_space(port.index) {
                    registry.register(
                        &mut SourceFd(&space.as_raw_fd()),
                        SERIAL_SPACE,
                        Interest::READABLE,
                    )?;
                }
                stdin = Some(StdinFeed {
                    port,
                    pending: VecDeque::new(),
                    escape: false,
                    readable: true,
                    eof: false,
                });
            }
        }
        Ok(MainLoop {
            poll,
            machine,
            events,
            signals,
            stdin,
            exit_code: None,
        })
    }

    /// Runs until the VM shuts down; returns the process exit status.
    pub fn run(mut self) -> i32 {
        let mut events = Events::with_capacity(64);
        while self.exit_code.is_none() {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!("vmm: main loop: {e}");
                return 1;
            }
            for event in events.iter() {
                match event.token() {
                    MACHINE_EVENTS => self.drain_machine_events(),
                    SIGNALS => self.handle_signals(),
                    STDIN => {
                        if let Some(feed) = &mut self.stdin {
                            feed.readable = true;
                        }
                    }
                    SERIAL_SPACE => {
                        if let Some(space) = self
                            .stdin
                            .as_ref()
                            .and_then(|f| self.machine.serial_input_space(f.port.index))
                        {
                            let _ = space.read();
                        }
                    }
                    _ => {}
                }
            }
            self.pump_stdin();
        }
        self.machine.shutdown();
        self.exit_code.unwrap_or(0)
    }

    fn drain_machine_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if self.exit_code.is_some() {
                return;
            }
            match event {
                MachineEvent::Vcpu(VcpuEvent::TripleFault { index }) => {
                    eprintln!("vmm: CPU {index} triple fault: the guest requested a reset");
                    self.reset_request(ShutdownCause::GuestReset);
                }
                MachineEvent::Vcpu(VcpuEvent::SystemReset)
                | MachineEvent::Device(MachineRequest::Reset) => {
                    self.reset_request(ShutdownCause::GuestReset)
                }
                MachineEvent::Vcpu(VcpuEvent::SystemShutdown)
                | MachineEvent::Device(MachineRequest::PowerOff) => {
                    self.shutdown_request(ShutdownCause::GuestShutdown)
                }
                MachineEvent::Vcpu(VcpuEvent::InternalError { report, .. }) => {
                    eprint!("{report}");
                    if self.machine.run_state() != RunState::InternalError {
                        self.machine.stop(RunState::InternalError);
                    }
                }
            }
        }
    }

    /// QEMU's `qemu_system_reset_request`: reset, or shut down under `-no-reboot`.
    fn reset_request(&mut self, cause: ShutdownCause) {
        if self.machine.config().no_reboot {
            self.shutdown_request(cause);
            return;
        }
        if let Err(e) = self.machine.reset() {
            eprintln!("vmm: reset failed: {e}");
            self.machine.stop(RunState::InternalError);
        }
    }

    /// QEMU's shutdown request: exit, or stop in the `shutdown` state under `-no-shutdown`
    /// (host-initiated quits always exit).
    fn shutdown_request(&mut self, cause: ShutdownCause) {
        let host_quit = matches!(
            cause,
            ShutdownCause::HostSignal | ShutdownCause::HostQmpQuit | ShutdownCause::HostUi
        );
        if self.machine.config().no_shutdown && !host_quit {
            self.machine.stop(RunState::Shutdown);
        } else {
            self.exit_code = Some(0);
        }
    }

    fn handle_signals(&mut self) {
        while let Some(t) = self.signals.read() {
            eprintln!("vmm: {}", kill_report(&t));
            self.shutdown_request(ShutdownCause::HostSignal);
        }
    }

    /// Moves terminal input into the serial port as far as its FIFO allows.
    fn pump_stdin(&mut self) {
        loop {
            let Some(feed) = &mut self.stdin else { return };
            let Some(serial) = self.machine.serial(feed.port.index) else {
                return;
            };
            while !feed.pending.is_empty() {
                let (front, _) = feed.pending.as_slices();
                let n = lock(serial).enqueue_input(front);
                if n == 0 {
                    return;
                }
                feed.pending.drain(..n);
            }
            if !feed.readable || feed.eof {
                return;
            }
            let mut buf = [0u8; STDIN_CHUNK];
            match read_ready_stdin(&mut buf) {
                Some(0) => {
                    feed.eof = true;
                    let _ = self.poll.registry().deregister(&mut SourceFd(&0));
                    return;
                }
                Some(n) => {
                    let quit = process_input(feed, &buf[..n]);
                    if quit {
                        write_stdout(b"QEMU: Terminated\n\r");
                        self.shutdown_request(ShutdownCause::HostUi);
                        return;
                    }
                }
                None => {
                    feed.readable = false;
                    return;
                }
            }
        }
    }
}

/// Reads stdin only if data is ready (it stays blocking: a terminal's non-blocking flag would
/// also affect the stdout the guest writes to).
fn read_ready_stdin(buf: &mut [u8]) -> Option<usize> {
    let mut pfd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: polls one valid pollfd without blocking.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
    if ready <= 0 {
        return None;
    }
    if pfd.revents & (libc::POLLIN | libc::POLLHUP) == 0 {
        return if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            Some(0)
        } else {
            None
        };
    }
    // SAFETY: reads into a buffer we own.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted
            || err.kind() == io::ErrorKind::WouldBlock
        {
            None
        } else {
            Some(0)
        };
    }
    Some(n as usize)
}

/// Applies the mux's Ctrl-A commands (when a monitor shares the terminal) and queues the rest
/// for the guest. Returns true on Ctrl-A x.
fn process_input(feed: &mut StdinFeed, bytes: &[u8]) -> bool {
    if !feed.port.mux {
        feed.pending.extend(bytes);
        return false;
    }
    for &b in bytes {
        if feed.escape {
            feed.escape = false;
            match b {
                CTRL_A => feed.pending.push_back(CTRL_A),
                b'x' => return true,
                b'h' | b'?' => {
                    let mut help = String::from("\n\r");
                    for line in MUX_HELP {
                        help.push_str(&line.replace('%', "C-a"));
                    }
                    write_stdout(help.as_bytes());
                }
                // Switching to the monitor, break, timestamps: not on this terminal (yet);
                // like QEMU, any other byte after the escape is dropped.
                _ => {}
            }
        } else if b == CTRL_A {
            feed.escape = true;
        } else {
            feed.pending.push_back(b);
        }
    }
    false
}
