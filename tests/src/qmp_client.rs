//! A raw QMP client for the end-to-end tests: it speaks to a real socket, sends exactly the
//! bytes it is given, and hands back exactly the bytes the server wrote, one `\r\n`-terminated
//! line at a time. Events (lines that start with `{"timestamp"`, which is how QEMU and we
//! start every event) are kept apart from replies, so a test can wait for a reply while events
//! arrive, and look at the events afterwards.
//!
//! It has no JSON dependency on purpose: the tests compare bytes. [`mask`] replaces the parts
//! that differ between runs and implementations (timestamps, the version `package` string)
//! so two transcripts can be compared with `==`.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a read waits by default before the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The socket under a client.
pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t),
            Conn::Tcp(s) => s.set_read_timeout(t),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.shutdown(how),
            Conn::Tcp(s) => s.shutdown(how),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// Why a read did not give a whole line.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing (or only the given partial line) arrived before the deadline.
    Timeout(Vec<u8>),
    /// The server closed the connection; the bytes after the last line end.
    Eof(Vec<u8>),
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Timeout(p) => write!(f, "timed out (partial line: {})", show(p)),
            ReadError::Eof(p) => write!(f, "end of stream (partial line: {})", show(p)),
            ReadError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// One client connection.
pub struct QmpClient {
    conn: Conn,
    /// Received bytes not yet returned as lines.
    buf: Vec<u8>,
    eof: bool,
    /// Events that arrived while the test waited for something else, in order.
    events: VecDeque<Vec<u8>>,
    /// Replies that arrived while the test waited for an event, in order.
    replies: VecDeque<Vec<u8>>,
    /// Pretty-printed monitor (`-mon ...,pretty=on`): a message spans lines and ends with
    /// a line that is exactly `}`.
    pub pretty: bool,
    /// Every byte received, in order (for failure messages).
    pub received: Vec<u8>,
    pub timeout: Duration,
    /// QEMU only: a client that connects while QEMU starts can be sent the RESUME of its
    /// initial `vm_start` before the greeting (a start-up race of QEMU's, seen in CI);
    /// [`Self::greeting`] then skips it.
    pub qemu_startup_race: bool,
}

impl QmpClient {
    /// Connects to a unix socket, retrying while it does not exist yet or refuses.
    pub fn connect_unix(path: &Path, timeout: Duration) -> io::Result<QmpClient> {
        let deadline = Instant::now() + timeout;
        loop {
            match UnixStream::connect(path) {
                Ok(s) => return Ok(QmpClient::new(Conn::Unix(s))),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Connects to a TCP address, retrying while it refuses.
    pub fn connect_tcp(addr: &str, timeout: Duration) -> io::Result<QmpClient> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempt = addr
                .to_socket_addrs()
                .and_then(|mut a| a.next().ok_or_else(|| io::Error::other("no address")))
                .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)));
            match attempt {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(QmpClient::new(Conn::Tcp(s)));
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    pub fn new(conn: Conn) -> QmpClient {
        QmpClient {
            conn,
            buf: Vec::new(),
            eof: false,
            events: VecDeque::new(),
            replies: VecDeque::new(),
            pretty: false,
            received: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            qemu_startup_race: false,
        }
    }

    /// The unix socket (for SCM_RIGHTS), if this is one.
    pub fn unix_stream(&self) -> Option<&UnixStream> {
        match &self.conn {
            Conn::Unix(s) => Some(s),
            Conn::Tcp(_) => None,
        }
    }

    /// Sends `bytes` exactly as given (no newline is added).
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .unwrap_or_else(|e| panic!("sending {}: {e}", show(bytes)));
    }

    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.conn.write_all(bytes)?;
        self.conn.flush()
    }

    /// Half-closes the connection (the server sees end of input).
    pub fn shutdown_write(&mut self) {
        let _ = self.conn.shutdown(Shutdown::Write);
    }

    /// One read of at most 64 KiB, waiting until `deadline`. Ok(false) on timeout.
    fn fill(&mut self, deadline: Instant) -> Result<bool, ReadError> {
        if self.eof {
            return Err(ReadError::Eof(self.buf.clone()));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        let wait = (deadline - now).max(Duration::from_millis(1));
        self.conn
            .set_read_timeout(Some(wait))
            .map_err(ReadError::Io)?;
        let mut chunk = [0u8; 65536];
        match self.conn.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                Err(ReadError::Eof(self.buf.clone()))
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.received.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                self.eof = true;
                Err(ReadError::Eof(self.buf.clone()))
            }
            Err(e) => Err(ReadError::Io(e)),
        }
    }

    /// The next line from the wire, `\r\n` (or a bare `\n`) included, byte for byte. Does not
    /// look at the event/reply queues.
    pub fn read_raw_line_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                return Ok(self.buf.drain(..=pos).collect());
            }
            if !self.fill(deadline)? {
                return Err(ReadError::Timeout(self.buf.clone()));
            }
        }
    }

    /// The next whole message from the wire: one line, or for a pretty monitor every line up
    /// to and including a line that is exactly `}\r\n`.
    pub fn read_message_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>, ReadError> {
        let deadline = Instant::now() + timeout;
        let first = self.read_raw_line_timeout(timeout)?;
        if !self.pretty || first.starts_with(b"{\"") || first == b"{}\r\n" {
            return Ok(first);
        }
        let mut msg = first;
        while !(msg.ends_with(b"\n}\r\n") || msg == b"}\r\n") {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_raw_line_timeout(left) {
                Ok(line) => msg.extend_from_slice(&line),
                Err(ReadError::Timeout(p)) => {
                    msg.extend_from_slice(&p);
                    return Err(ReadError::Timeout(msg));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(msg)
    }

    /// The next message from the wire, event or reply (the queues of messages set aside by
    /// [`Self::reply`] and [`Self::wait_event`] are not consulted).
    pub fn read_message(&mut self) -> Vec<u8> {
        let t = self.timeout;
        self.read_message_timeout(t)
            .unwrap_or_else(|e| self.fail(&format!("reading a message: {e}")))
    }

    /// The next reply (not an event), waiting at most `timeout`; events that come first are
    /// queued for [`Self::take_events`] / [`Self::wait_event`].
    pub fn reply_timeout(&mut self, timeout: Duration) -> Result<Vec<u8>, ReadError> {
        if let Some(r) = self.replies.pop_front() {
            return Ok(r);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.read_message_timeout(left)?;
            if is_event(&msg) {
                self.events.push_back(msg);
            } else {
                return Ok(msg);
            }
        }
    }

    /// The next reply; fails the test on timeout or end of stream.
    pub fn reply(&mut self) -> Vec<u8> {
        let t = self.timeout;
        self.reply_timeout(t)
            .unwrap_or_else(|e| self.fail(&format!("waiting for a reply: {e}")))
    }

    /// Sends `bytes` (exactly) and returns the next reply.
    pub fn command(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.send(bytes);
        self.reply()
    }

    /// Sends `bytes`, then returns every message up to and including the reply, events
    /// included, in wire order (what a transcript shows).
    pub fn command_transcript(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        assert!(
            self.replies.is_empty(),
            "replies queued before a transcript"
        );
        let mut out: Vec<Vec<u8>> = self.events.drain(..).collect();
        self.send(bytes);
        loop {
            let msg = self.read_message();
            let event = is_event(&msg);
            out.push(msg);
            if !event {
                return out;
            }
        }
    }

    /// Events received so far (and not yet taken), in order.
    pub fn take_events(&mut self) -> Vec<Vec<u8>> {
        self.events.drain(..).collect()
    }

    /// Waits for the event `name` (queued or new); earlier events stay queued, replies that
    /// arrive meanwhile are kept for [`Self::reply`].
    pub fn wait_event_timeout(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, ReadError> {
        if let Some(i) = self
            .events
            .iter()
            .position(|e| event_name(e).as_deref() == Some(name))
        {
            return Ok(self.events.remove(i).expect("index in range"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.read_message_timeout(left)?;
            if !is_event(&msg) {
                self.replies.push_back(msg);
            } else if event_name(&msg).as_deref() == Some(name) {
                return Ok(msg);
            } else {
                self.events.push_back(msg);
            }
        }
    }

    pub fn wait_event(&mut self, name: &str) -> Vec<u8> {
        let t = self.timeout;
        self.wait_event_timeout(name, t)
            .unwrap_or_else(|e| self.fail(&format!("waiting for event {name}: {e}")))
    }

    /// Reads the greeting line.
    pub fn greeting(&mut self) -> Vec<u8> {
        let mut g = self.read_message();
        while self.qemu_startup_race && is_event(&g) && event_name(&g).as_deref() == Some("RESUME")
        {
            g = self.read_message();
        }
        assert!(
            g.starts_with(b"{\"QMP\"") || g.starts_with(b"{\r\n    \"QMP\""),
            "not a greeting: {}",
            show(&g)
        );
        g
    }

    /// Reads the greeting and leaves negotiation mode with a plain `qmp_capabilities`.
    pub fn negotiate(&mut self) -> Vec<u8> {
        let g = self.greeting();
        let r = self.command(b"{\"execute\":\"qmp_capabilities\"}");
        let ok: &[u8] = if self.pretty {
            b"{\r\n    \"return\": {\r\n    }\r\n}\r\n"
        } else {
            b"{\"return\": {}}\r\n"
        };
        assert_eq!(show(&r), show(ok), "qmp_capabilities");
        g
    }

    /// Whatever arrives within `window` (for checks that something is *not* sent).
    pub fn read_for(&mut self, window: Duration) -> Vec<u8> {
        let deadline = Instant::now() + window;
        while !self.eof && Instant::now() < deadline {
            match self.fill(deadline) {
                Ok(_) => {}
                Err(_) => break,
            }
        }
        std::mem::take(&mut self.buf)
    }

    /// Reads until the server closes the connection; returns the bytes that came.
    pub fn read_to_eof(&mut self, timeout: Duration) -> Result<Vec<u8>, Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.fill(deadline) {
                Ok(true) => {}
                Ok(false) => return Err(std::mem::take(&mut self.buf)),
                Err(ReadError::Eof(_)) => return Ok(std::mem::take(&mut self.buf)),
                Err(_) => return Err(std::mem::take(&mut self.buf)),
            }
        }
    }

    /// Fails the test, showing everything received on this connection.
    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- all bytes received on this connection ---\n{}",
            show(&self.received)
        )
    }
}

/// Whether a message is an event: QEMU writes `timestamp` first in every event.
pub fn is_event(msg: &[u8]) -> bool {
    msg.starts_with(b"{\"timestamp\"") || msg.starts_with(b"{\r\n    \"timestamp\"")
}

/// The `event` member of an event message.
pub fn event_name(msg: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(msg);
    let key = "\"event\": \"";
    let start = text.find(key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

/// Bytes as a Rust-escaped string (`\r\n`, `\x01`, `\u{..}` visible), for messages.
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        s.extend(chunk.valid().escape_debug());
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// A message with what legitimately differs between runs and implementations replaced:
/// every `"timestamp": {"seconds": N, "microseconds": N}` becomes
/// `"timestamp": {"seconds": S, "microseconds": U}` (pretty-printed ones too), and the value
/// of every `"package"` member becomes `"P"`. Returns the (lossy) text.
pub fn mask(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(msg).into_owned();
    let text = mask_number_after(&text, "\"seconds\": ", "S");
    let text = mask_number_after(&text, "\"microseconds\": ", "U");
    mask_string_after(&text, "\"package\": \"", "P")
}

/// Replaces the (possibly negative) integer after each `key` with `with`.
pub fn mask_number_after(text: &str, key: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let n = rest
            .char_indices()
            .find(|&(j, c)| !(c.is_ascii_digit() || (j == 0 && c == '-')))
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        if n > 0 {
            out.push_str(with);
        }
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// Replaces the JSON string content after each `key` (which ends with the opening quote).
pub fn mask_string_after(text: &str, key: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let bytes = rest.as_bytes();
        let mut j = 0;
        while j < bytes.len() && bytes[j] != b'"' {
            j += if bytes[j] == b'\\' { 2 } else { 1 };
        }
        out.push_str(with);
        rest = &rest[j.min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Sends `bytes` with `fds` attached as one SCM_RIGHTS control message (what `getfd` and
/// `add-fd` take; qemu.qmp's `send_fd_scm` and libvirt do the same).
pub fn send_with_fds(
    stream: &UnixStream,
    bytes: &[u8],
    fds: &[std::os::fd::RawFd],
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let payload = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
    let mut control = vec![0u8; space.max(1)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer is CMSG_SPACE(payload) bytes, so the first header and
        // its data fit.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr() as *const u8,
                libc::CMSG_DATA(cmsg),
                payload,
            );
        }
    }
    // SAFETY: a valid socket and a fully initialised msghdr.
    let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if (n as usize) != bytes.len() {
        return Err(io::Error::other("short sendmsg"));
    }
    Ok(())
}

impl QmpClient {
    /// Sends `bytes` with `fds` attached (SCM_RIGHTS) and returns the next reply.
    pub fn command_with_fds(&mut self, bytes: &[u8], fds: &[std::os::fd::RawFd]) -> Vec<u8> {
        let stream = self.unix_stream().expect("fd passing needs a unix socket");
        send_with_fds(stream, bytes, fds)
            .unwrap_or_else(|e| panic!("sendmsg {}: {e}", show(bytes)));
        self.reply()
    }
}
