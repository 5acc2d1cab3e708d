//! Output of a serial port whose chardev is a socket: the vCPU thread writes here, the event
//! loop plugs in the connected client (or nothing, and then bytes are dropped as QEMU drops
//! them with no client attached).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

/// How long a write waits for a client that does not read before bytes are dropped, so a
/// stuck client cannot stall the vCPU.
const WRITE_STALL_MS: i32 = 100;

#[derive(Clone, Default)]
pub struct SocketSink(Arc<Mutex<Option<OwnedFd>>>);

impl SocketSink {
    /// Attaches a client (a duplicate of its descriptor) or detaches (`None`).
    pub fn attach(&self, fd: Option<OwnedFd>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = fd;
    }
}

fn wait_writable(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: polls one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, WRITE_STALL_MS) > 0 }
}

impl Write for SocketSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(fd) = guard.as_ref() else {
            return Ok(buf.len());
        };
        loop {
            // SAFETY: sends from a live buffer on a descriptor we own; MSG_NOSIGNAL keeps a
            // closed peer from raising SIGPIPE.
            let n = unsafe {
                libc::send(
                    fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock if wait_writable(fd.as_raw_fd()) => {}
                // Disconnected or stuck: the byte is lost, as on an unplugged line.
                _ => return Ok(buf.len()),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
