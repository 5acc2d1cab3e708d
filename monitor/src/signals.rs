//! Termination signals, received synchronously through a signalfd in the main loop.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// A received termination signal and who sent it.
pub struct Termination {
    pub signal: i32,
    pub pid: u32,
}

pub struct SignalFd(OwnedFd);

fn termination_set() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

impl SignalFd {
    /// Blocks the termination signals in this thread (and the threads it spawns later) and
    /// returns a descriptor that reports them. Call before spawning threads.
    pub fn new() -> io::Result<Self> {
        let set = termination_set();
        // SAFETY: standard signal mask and signalfd calls with a valid set; SIGPIPE is
        // ignored so a closed socket or pipe gives EPIPE instead of killing the VMM.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SignalFd(OwnedFd::from_raw_fd(fd)))
        }
    }

    /// The next pending signal, if any.
    pub fn read(&self) -> Option<Termination> {
        // SAFETY: reads one signalfd_siginfo into a properly sized local.
        unsafe {
            let mut info: libc::signalfd_siginfo = std::mem::zeroed();
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            let n = libc::read(
                self.0.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            );
            (n == size as isize).then_some(Termination {
                signal: info.ssi_signo as i32,
                pid: info.ssi_pid,
            })
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// QEMU's report of a terminating signal (`qemu_kill_report`).
pub fn kill_report(t: &Termination) -> String {
    if t.pid == 0 {
        return format!("terminating on signal {}", t.signal);
    }
    let name = std::fs::read(format!("/proc/{}/cmdline", t.pid))
        .ok()
        .and_then(|c| {
            let first = c.split(|&b| b == 0).next()?.to_vec();
            (!first.is_empty()).then(|| String::from_utf8_lossy(&first).into_owned())
        })
        .unwrap_or_else(|| "<unknown process>".to_string());
    format!(
        "terminating on signal {} from pid {} ({})",
        t.signal, t.pid, name
    )
}
