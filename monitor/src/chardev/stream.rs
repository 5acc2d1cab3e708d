//! A connected byte stream: a unix or TCP socket client, or the process's stdio.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use mio::net::{TcpStream, UnixStream};

pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    /// Reads fd 0, writes fd 1 (both left blocking: a terminal's non-blocking flag would be
    /// shared with other users of the same file description).
    Stdio,
}

fn stdio_ready(fd: RawFd, events: libc::c_short) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: polls one valid pollfd without blocking.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
}

/// Most descriptors accepted with one message (QEMU's limit per read is similar).
const MAX_FDS_PER_READ: usize = 16;

/// recvmsg(2) on a unix socket, keeping descriptors passed with SCM_RIGHTS.
fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space =
        unsafe { libc::CMSG_SPACE((MAX_FDS_PER_READ * std::mem::size_of::<RawFd>()) as u32) };
    let mut control = vec![0u8; space as usize];
    // SAFETY: zero is a valid msghdr before its pointers are set.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: msg points at live buffers sized above.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: walks the control messages the kernel wrote into `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                let bytes = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(n as usize)
}

impl Stream {
    /// Reads; descriptors passed over a unix socket are appended to `fds`.
    pub fn read_with_fds(&mut self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => recv_with_fds(s.as_raw_fd(), buf, fds),
            other => other.read(buf),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
            Stream::Stdio => {
                if !stdio_ready(0, libc::POLLIN) {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // SAFETY: reads into a buffer we own.
                let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::Stdio => {
                if !stdio_ready(1, libc::POLLOUT) {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                // SAFETY: writes from a buffer we own.
                let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Stdio => 0,
        }
    }

    /// The fd written to (differs from [`Self::raw_fd`] only for stdio).
    pub fn write_fd(&self) -> RawFd {
        match self {
            Stream::Stdio => 1,
            other => other.raw_fd(),
        }
    }

    /// The peer, in QEMU's `query-chardev` filename style (` <-> host:port` for TCP).
    pub fn peer_suffix(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map(|a| format!(" <-> {a}"))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}
