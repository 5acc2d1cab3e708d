//! null-qmp-server: the host's floor for a QMP round trip. It speaks QMP's framing and
//! nothing else: a greeting, then `{"return": {}}` for every line, served from an epoll loop
//! in one thread as the vmm's monitor is. qmp-bench measures it beside the vmm, with the
//! guest idle and spinning, so a latency change that any process on this host would see (the
//! kernel's placement of the woken thread, pulling a vCPU out of guest mode) is told apart
//! from one the monitor causes.
//!
//! Usage: null-qmp-server SOCKET   (serves one client at a time until killed)

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};

const GREETING: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \
    \"major\": 10}, \"package\": \"null-qmp-server\"}, \"capabilities\": []}}\r\n";
const REPLY: &[u8] = b"{\"return\": {}}\r\n";

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: null-qmp-server SOCKET");
        std::process::exit(2);
    };
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("null-qmp-server: {}: {e}", path.to_string_lossy());
            std::process::exit(1);
        }
    };
    for stream in listener.incoming().flatten() {
        if let Err(e) = serve(stream) {
            eprintln!("null-qmp-server: {e}");
        }
    }
}

/// Answers one client until it hangs up.
fn serve(mut stream: UnixStream) -> std::io::Result<()> {
    stream.write_all(GREETING)?;
    // The socket stays blocking: epoll says when to read (the wake-up measured), and a
    // readable socket's read does not block.
    let epoll = Epoll::new(stream.as_raw_fd())?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        epoll.wait()?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for _ in buf[..n].iter().filter(|&&b| b == b'\n') {
            stream.write_all(REPLY)?;
        }
    }
}

/// An epoll instance watching one descriptor for input.
struct Epoll {
    fd: libc::c_int,
}

impl Epoll {
    fn new(watched: libc::c_int) -> std::io::Result<Epoll> {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let epoll = Epoll { fd };
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        // SAFETY: both descriptors are open; `event` outlives the call.
        if unsafe { libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, watched, &mut event) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(epoll)
    }

    /// Blocks until the descriptor is readable or hung up.
    fn wait(&self) -> std::io::Result<()> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        loop {
            // SAFETY: `event` has room for the one event asked for.
            let n = unsafe { libc::epoll_wait(self.fd, &mut event, 1, -1) };
            if n >= 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}
