//! Character devices a monitor or serial port can sit on: listening sockets serving one client
//! at a time, client sockets, inherited fds, stdio.

mod listener;
mod stream;

use std::io;
use std::path::Path;

use thiserror::Error;

pub use listener::{is_listening, set_nonblocking, Listener};
pub use stream::Stream;

use crate::config::{ChardevBackend, ChardevConfig};

#[derive(Debug, Error)]
pub enum ChardevError {
    #[error("Failed to bind socket to {path}: {source}")]
    Bind { path: String, source: io::Error },
    #[error("Failed to connect to '{path}': {source}")]
    Connect { path: String, source: io::Error },
    #[error("Failed to use fd {fd}: {source}")]
    Fd { fd: i32, source: io::Error },
    #[error("Failed to accept connection: {0}")]
    Accept(io::Error),
    #[error("chardev '{0}' backend cannot carry a monitor")]
    Unsupported(String),
}

/// A chardev's endpoint.
pub enum Endpoint {
    /// A server socket: at most one client at a time; others wait in the listen backlog.
    Server {
        listener: Listener,
        client: Option<Stream>,
    },
    /// A client socket, or an inherited connected fd.
    Client(Option<Stream>),
    Stdio(Stream),
}

pub struct Chardev {
    pub config: ChardevConfig,
    pub endpoint: Endpoint,
    /// QEMU's `query-chardev` filename, without the connection state.
    location: String,
}

impl Chardev {
    /// Opens the chardev: binds or connects sockets, adopts inherited fds.
    pub fn open(config: &ChardevConfig) -> Result<Chardev, ChardevError> {
        let (endpoint, location) = match &config.backend {
            ChardevBackend::UnixSocket { path, server, .. } => {
                let location = format!(
                    "unix:{}{}",
                    path.display(),
                    if *server { ",server=on" } else { "" }
                );
                let endpoint = if *server {
                    let listener =
                        Listener::bind_unix(path).map_err(|source| ChardevError::Bind {
                            path: path.display().to_string(),
                            source,
                        })?;
                    Endpoint::Server {
                        listener,
                        client: None,
                    }
                } else {
                    Endpoint::Client(Some(connect_unix(path)?))
                };
                (endpoint, location)
            }
            ChardevBackend::Tcp {
                host, port, server, ..
            } => {
                let location = format!(
                    "tcp:{host}:{port}{}",
                    if *server { ",server=on" } else { "" }
                );
                let endpoint = if *server {
                    let listener =
                        Listener::bind_tcp(host, *port).map_err(|source| ChardevError::Bind {
                            path: format!("{host}:{port}"),
                            source,
                        })?;
                    Endpoint::Server {
                        listener,
                        client: None,
                    }
                } else {
                    Endpoint::Client(Some(connect_tcp(host, *port)?))
                };
                (endpoint, location)
            }
            ChardevBackend::SocketFd { fd, .. } => {
                let fd = *fd;
                let listening =
                    is_listening(fd).map_err(|source| ChardevError::Fd { fd, source })?;
                let endpoint = if listening {
                    // SAFETY: the command line hands this inherited fd to the chardev.
                    let listener = unsafe { Listener::from_fd(fd) }
                        .map_err(|source| ChardevError::Fd { fd, source })?;
                    Endpoint::Server {
                        listener,
                        client: None,
                    }
                } else {
                    // SAFETY: as above.
                    let stream = unsafe { listener::stream_from_fd(fd) }
                        .map_err(|source| ChardevError::Fd { fd, source })?;
                    Endpoint::Client(Some(stream))
                };
                let location = local_location(fd, listening);
                (endpoint, location)
            }
            ChardevBackend::Stdio => (Endpoint::Stdio(Stream::Stdio), "stdio".to_string()),
            ChardevBackend::Null | ChardevBackend::File { .. } => {
                return Err(ChardevError::Unsupported(config.id.clone()))
            }
        };
        Ok(Chardev {
            config: config.clone(),
            endpoint,
            location,
        })
    }

    /// `wait=on` servers block start-up until their first client connects.
    pub fn wait_requested(&self) -> bool {
        match &self.config.backend {
            ChardevBackend::UnixSocket { server, wait, .. }
            | ChardevBackend::Tcp { server, wait, .. }
            | ChardevBackend::SocketFd { server, wait, .. } => *server && *wait,
            _ => false,
        }
    }

    /// Accepts the first client, blocking (`wait=on`), and says so on stderr as QEMU does.
    /// Returns `Interrupted` if `interrupt_fd` (the signalfd) becomes readable first.
    pub fn wait_for_client(&mut self, interrupt_fd: i32) -> Result<(), ChardevError> {
        let filename = self.filename();
        if let Endpoint::Server { listener, client } = &mut self.endpoint {
            let location = &self.config.location;
            let prefix = if location.is_empty() {
                String::new()
            } else {
                format!("{location}: ")
            };
            eprintln!("vmm: {prefix}info: QEMU waiting for connection on: {filename}");
            *client = Some(
                listener
                    .accept_blocking(interrupt_fd)
                    .map_err(ChardevError::Accept)?,
            );
        }
        Ok(())
    }

    /// Whether a client is attached (always for stdio).
    pub fn connected(&self) -> bool {
        match &self.endpoint {
            Endpoint::Server { client, .. } => client.is_some(),
            Endpoint::Client(s) => s.is_some(),
            Endpoint::Stdio(_) => true,
        }
    }

    /// The `filename` member of `query-chardev`.
    pub fn filename(&self) -> String {
        match &self.endpoint {
            Endpoint::Server {
                client: Some(c), ..
            } => format!("{}{}", self.location, c.peer_suffix()),
            Endpoint::Client(Some(c)) => format!("{}{}", self.location, c.peer_suffix()),
            Endpoint::Stdio(_) => self.location.clone(),
            _ => format!("disconnected:{}", self.location),
        }
    }

    /// A socket chardev (yankable in QEMU).
    pub fn is_socket(&self) -> bool {
        !matches!(self.endpoint, Endpoint::Stdio(_))
    }

    pub fn label(&self) -> &str {
        &self.config.id
    }

    /// The connected client stream, if any.
    pub fn client_mut(&mut self) -> Option<&mut Stream> {
        match &mut self.endpoint {
            Endpoint::Server { client, .. } => client.as_mut(),
            Endpoint::Client(s) => s.as_mut(),
            Endpoint::Stdio(s) => Some(s),
        }
    }
}

fn connect_unix(path: &Path) -> Result<Stream, ChardevError> {
    let s =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ChardevError::Connect {
            path: path.display().to_string(),
            source,
        })?;
    s.set_nonblocking(true)
        .map_err(|source| ChardevError::Connect {
            path: path.display().to_string(),
            source,
        })?;
    Ok(Stream::Unix(mio::net::UnixStream::from_std(s)))
}

fn connect_tcp(host: &str, port: u16) -> Result<Stream, ChardevError> {
    let err = |source| ChardevError::Connect {
        path: format!("{host}:{port}"),
        source,
    };
    let s = std::net::TcpStream::connect((host, port)).map_err(err)?;
    s.set_nonblocking(true).map_err(err)?;
    let _ = s.set_nodelay(true);
    Ok(Stream::Tcp(mio::net::TcpStream::from_std(s)))
}

/// A location string for an inherited socket, from its local address.
fn local_location(fd: i32, server: bool) -> String {
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getsockname into a properly sized local.
    let ok = unsafe {
        libc::getsockname(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    } == 0;
    let suffix = if server { ",server=on" } else { "" };
    if ok && i32::from(addr.ss_family) == libc::AF_UNIX {
        // SAFETY: the family says this is a sockaddr_un.
        let un: &libc::sockaddr_un = unsafe { &*(&addr as *const libc::sockaddr_storage).cast() };
        let bytes: Vec<u8> = un
            .sun_path
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        return format!("unix:{}{suffix}", String::from_utf8_lossy(&bytes));
    }
    if ok && i32::from(addr.ss_family) == libc::AF_INET {
        // SAFETY: the family says this is a sockaddr_in.
        let sin: &libc::sockaddr_in = unsafe { &*(&addr as *const libc::sockaddr_storage).cast() };
        let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
        return format!("tcp:{ip}:{}{suffix}", u16::from_be(sin.sin_port));
    }
    format!("fd:{fd}{suffix}")
}
