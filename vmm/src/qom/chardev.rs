//! `/chardevs/ID`: the character devices, typed as QEMU types their backends.

use std::any::Any;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::context::QomContext;
use super::error::QomError;
use super::object::{PropInfo, QomObject};
use crate::config::ChardevBackend;

/// QEMU's type for a chardev backend.
pub fn backend_type(backend: &ChardevBackend) -> &'static str {
    match backend {
        ChardevBackend::Null => "chardev-null",
        ChardevBackend::Stdio => "chardev-stdio",
        ChardevBackend::File { .. } => "chardev-file",
        ChardevBackend::UnixSocket { .. }
        | ChardevBackend::Tcp { .. }
        | ChardevBackend::SocketFd { .. } => "chardev-socket",
    }
}

/// A socket chardev's state as its properties show it.
struct Socket {
    server: bool,
    /// The address from the configuration; `None` for an inherited fd.
    addr: Option<Value>,
    fd: Option<i32>,
}

pub struct ChardevObject {
    type_name: &'static str,
    id: String,
    socket: Option<Socket>,
}

impl ChardevObject {
    /// The chardev `id` with `backend`.
    pub fn new(id: &str, backend: &ChardevBackend) -> Self {
        let socket = match backend {
            ChardevBackend::UnixSocket { path, server, .. } => Some(Socket {
                server: *server,
                addr: Some(json!({"type": "unix", "path": path.to_string_lossy()})),
                fd: None,
            }),
            ChardevBackend::Tcp {
                host, port, server, ..
            } => Some(Socket {
                server: *server,
                addr: Some(inet_address(host, *port, *server)),
                fd: None,
            }),
            ChardevBackend::SocketFd { fd, server, .. } => Some(Socket {
                server: *server,
                addr: None,
                fd: Some(*fd),
            }),
            _ => None,
        };
        ChardevObject {
            type_name: backend_type(backend),
            id: id.to_string(),
            socket,
        }
    }

    /// The multiplexer QEMU puts in front of a backend shared with a monitor (`mon:stdio`,
    /// `mux=on`); the backend itself is then `ID-base`.
    pub fn mux(id: &str) -> Self {
        ChardevObject {
            type_name: "chardev-mux",
            id: id.to_string(),
            socket: None,
        }
    }
}

/// A TCP chardev's `SocketAddress`. A listening socket shows the address it is bound to,
/// which names the IP family.
fn inet_address(host: &str, port: u16, server: bool) -> Value {
    let host = if host.is_empty() && server {
        "0.0.0.0"
    } else {
        host
    };
    let mut m = serde_json::Map::new();
    m.insert("type".into(), Value::from("inet"));
    m.insert("host".into(), Value::from(host));
    m.insert("port".into(), Value::from(port.to_string()));
    if server {
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => {
                m.insert("ipv4".into(), Value::from(true));
            }
            Ok(IpAddr::V6(_)) => {
                m.insert("ipv6".into(), Value::from(true));
            }
            Err(_) => {}
        }
    }
    Value::Object(m)
}

impl QomObject for ChardevObject {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn properties(&self) -> Vec<PropInfo> {
        match self.socket {
            Some(_) => vec![
                PropInfo::value("connected", "bool"),
                PropInfo::value("addr", "SocketAddress"),
            ],
            None => Vec::new(),
        }
    }

    fn get(&self, name: &str, ctx: &dyn QomContext) -> Result<Value, QomError> {
        let Some(s) = &self.socket else {
            return Err(QomError::not_found(self.type_name, name));
        };
        match name {
            // Without live state: a client connected at start-up, a server waits for one.
            "connected" => Ok(Value::from(
                ctx.chardev_connected(&self.id).unwrap_or(!s.server),
            )),
            "addr" => Ok(s
                .addr
                .clone()
                .or_else(|| ctx.chardev_address(&self.id))
                .unwrap_or_else(|| json!({"type": "fd", "str": s.fd.unwrap_or(-1).to_string()}))),
            _ => Err(QomError::not_found(self.type_name, name)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
