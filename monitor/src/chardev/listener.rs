//! Listening sockets of server chardevs (`server=on`), unix or TCP, created here or inherited
//! as `fd=N` (how libvirt passes them).

use std::io;
use std::net::ToSocketAddrs;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::{Path, PathBuf};

use mio::net::{TcpListener, UnixListener};

use super::stream::Stream;

pub enum Listener {
    Unix {
        socket: UnixListener,
        path: Option<PathBuf>,
    },
    Tcp(TcpListener),
}

impl Listener {
    /// Binds a unix socket, replacing a stale socket file as QEMU does.
    pub fn bind_unix(path: &Path) -> io::Result<Listener> {
        let _ = std::fs::remove_file(path);
        let socket = UnixListener::bind(path)?;
        Ok(Listener::Unix {
            socket,
            path: Some(path.to_path_buf()),
        })
    }

    pub fn bind_tcp(host: &str, port: u16) -> io::Result<Listener> {
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        let addr = (host, port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "address not found"))?;
        // std sets SO_REUSEADDR on Unix, as QEMU does for its listeners.
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        Ok(Listener::Tcp(TcpListener::from_std(std_listener)))
    }

    /// An inherited listening socket (unix or TCP).
    ///
    /// # Safety
    /// `fd` must be an open socket the caller hands over to this listener.
    pub unsafe fn from_fd(fd: RawFd) -> io::Result<Listener> {
        set_nonblocking(fd)?;
        // SAFETY (caller): fd is an owned socket.
        let domain = socket_domain(fd)?;
        Ok(if domain == libc::AF_UNIX {
            Listener::Unix {
                socket: unsafe { UnixListener::from_raw_fd(fd) },
                path: None,
            }
        } else {
            Listener::Tcp(unsafe { TcpListener::from_raw_fd(fd) })
        })
    }

    /// Accepts one pending client, if any.
    pub fn accept(&self) -> io::Result<Option<Stream>> {
        let accepted = match self {
            Listener::Unix { socket, .. } => socket.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(socket) => socket.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
        };
        match accepted {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Blocks until a client connects (`wait=on`), or fails with `Interrupted` when
    /// `interrupt_fd` becomes readable (a termination signal).
    pub fn accept_blocking(&self, interrupt_fd: RawFd) -> io::Result<Stream> {
        loop {
            if let Some(s) = self.accept()? {
                return Ok(s);
            }
            let mut pfds = [
                libc::pollfd {
                    fd: self.raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: interrupt_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: polls two valid pollfds.
            unsafe { libc::poll(pfds.as_mut_ptr(), 2, -1) };
            if pfds[1].revents & libc::POLLIN != 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
        }
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Listener::Unix { socket, .. } => socket.as_raw_fd(),
            Listener::Tcp(socket) => socket.as_raw_fd(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // QEMU removes the socket file it created when the chardev goes away.
        if let Listener::Unix { path: Some(p), .. } = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Whether `fd` is a listening socket.
pub fn is_listening(fd: RawFd) -> io::Result<bool> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a properly sized local.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value != 0)
}

fn socket_domain(fd: RawFd) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a properly sized local.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl flag manipulation on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A connected inherited socket (`fd=N` of a client-mode chardev).
///
/// # Safety
/// `fd` must be an open, connected socket the caller hands over.
pub unsafe fn stream_from_fd(fd: RawFd) -> io::Result<Stream> {
    set_nonblocking(fd)?;
    Ok(if socket_domain(fd)? == libc::AF_UNIX {
        Stream::Unix(unsafe { mio::net::UnixStream::from_raw_fd(fd) })
    } else {
        Stream::Tcp(unsafe { mio::net::TcpStream::from_raw_fd(fd) })
    })
}
