//! Character devices: `-chardev` (QemuOpts, `chardev/char*.c`) and the legacy backend strings of
//! `-serial`, `-monitor` and `-qmp` (`qemu_chr_parse_compat()`).
//!
//! Supported backends: `null`, `stdio`, `file`, `socket` (unix path, tcp host:port, or an
//! inherited fd). QEMU's other backends (`pty`, `vc`, `pipe`, `udp`, `ringbuf`, ...) are rejected
//! with the message QEMU gives for a backend its build lacks: "'pty' is not a valid char driver
//! name".

use std::path::PathBuf;

use super::error::ErrorKind;
use super::qemuopts::{d, OptDesc, OptType, Opts, OptsList};
use super::strtox;
use crate::config::{ChardevBackend, ChardevConfig};

const B: OptType = OptType::Bool;
const S: OptType = OptType::Str;
const N: OptType = OptType::Number;

/// `qemu_chardev_opts`.
pub const CHARDEV_OPTS: OptsList = OptsList {
    name: "chardev",
    implied: Some("backend"),
    merge: false,
    desc: Some(&[
        d("backend", S),
        d("path", S),
        d("input-path", S),
        d("host", S),
        d("port", S),
        d("fd", S),
        d("localaddr", S),
        d("localport", S),
        d("to", N),
        d("ipv4", B),
        d("ipv6", B),
        d("wait", B),
        d("server", B),
        d("delay", B),
        d("nodelay", B),
        d("reconnect", N),
        d("reconnect-ms", N),
        d("telnet", B),
        d("tn3270", B),
        d("tls-creds", S),
        d("tls-authz", S),
        d("websocket", B),
        d("width", N),
        d("height", N),
        d("cols", N),
        d("rows", N),
        d("mux", B),
        d("signal", B),
        d("name", S),
        d("debug", N),
        d("size", OptType::Size),
        d("chardev", S),
        d("chardevs.0", S),
        d("chardevs.1", S),
        d("chardevs.2", S),
        d("chardevs.3", S),
        d("append", B),
        d("logfile", S),
        d("logappend", B),
        d("mouse", B),
        d("clipboard", B),
        d("tight", B),
        d("abstract", B),
    ] as &[OptDesc]),
};

/// The backends this VMM implements, in the order `-chardev help` lists them.
pub const BACKENDS: &[&str] = &["stdio", "null", "socket", "file"];

/// `-chardev help`.
pub fn help_text() -> String {
    let mut s = String::from("Available chardev backend types: \n");
    for b in BACKENDS {
        s.push_str(&format!("  {b}\n"));
    }
    s
}

fn unsupported(backend: &str, name: &str) -> ErrorKind {
    ErrorKind::ChardevPropertyUnsupported {
        backend: backend.to_string(),
        name: name.to_string(),
    }
}

/// Rejects options that would change behaviour in ways this VMM does not implement.
fn reject_unimplemented(opts: &Opts, backend: &str) -> Result<(), ErrorKind> {
    if opts.has("logfile") {
        return Err(unsupported(backend, "logfile"));
    }
    Ok(())
}

/// `qemu_chr_new_from_opts()` + the backend's `parse` and `qmp_chardev_validate_socket()`:
/// turns a `-chardev` (or legacy) option group into a chardev. `daemonize`: `-daemonize` was
/// given (stdio is refused then).
pub fn from_opts(opts: &Opts, daemonize: bool) -> Result<ChardevConfig, ErrorKind> {
    let Some(id) = opts.id.clone() else {
        return Err(ErrorKind::ChardevNoId);
    };
    let Some(backend) = opts.get("backend") else {
        return Err(ErrorKind::ChardevMissingBackend { id });
    };
    let mux = opts.get_bool("mux", false);
    let kind = match backend {
        "null" => {
            reject_unimplemented(opts, backend)?;
            ChardevBackend::Null
        }
        "stdio" => {
            reject_unimplemented(opts, backend)?;
            if daemonize {
                return Err(ErrorKind::StdioWithDaemonize);
            }
            ChardevBackend::Stdio
        }
        "file" => {
            let Some(path) = opts.get("path") else {
                return Err(ErrorKind::FileNoFilename);
            };
            reject_unimplemented(opts, backend)?;
            if opts.has("input-path") {
                return Err(unsupported(backend, "input-path"));
            }
            ChardevBackend::File {
                path: PathBuf::from(path),
                append: opts.get_bool("append", false),
            }
        }
        "socket" => socket(opts)?,
        other => {
            return Err(ErrorKind::InvalidCharDriverName {
                name: other.to_string(),
            })
        }
    };
    Ok(ChardevConfig {
        id,
        backend: kind,
        mux,
        location: String::new(),
    })
}

/// `qemu_chr_parse_socket()` and `qmp_chardev_validate_socket()`.
fn socket(opts: &Opts) -> Result<ChardevBackend, ErrorKind> {
    let path = opts.get("path");
    let host = opts.get("host");
    let port = opts.get("port");
    let fd = opts.get("fd");
    let given = [path, host, fd].iter().filter(|o| o.is_some()).count();
    if given > 1 {
        return Err(ErrorKind::SocketAddressConflict);
    }
    if host.is_some() && port.is_none() {
        return Err(ErrorKind::SocketNoPort);
    }
    if opts.has("delay") && opts.has("nodelay") {
        return Err(ErrorKind::DelayNodelay);
    }
    let server = opts.get_bool("server", false);
    let wait = opts.get_bool("wait", true);
    if server {
        if opts.has("reconnect") {
            return Err(ErrorKind::ReconnectWithServer {
                name: "reconnect".into(),
            });
        }
        if opts.has("reconnect-ms") {
            return Err(ErrorKind::ReconnectWithServer {
                name: "reconnect-ms".into(),
            });
        }
    } else if opts.has("wait") {
        return Err(ErrorKind::WaitWithClient);
    }
    reject_unimplemented(opts, "socket")?;
    for (name, default_off) in [
        ("telnet", true),
        ("tn3270", true),
        ("websocket", true),
        ("tls-creds", false),
        ("tls-authz", false),
        ("reconnect", false),
        ("reconnect-ms", false),
        ("abstract", true),
    ] {
        let set = if default_off {
            opts.get_bool(name, false)
        } else {
            opts.has(name)
        };
        if set {
            return Err(unsupported("socket", name));
        }
    }
    if let Some(path) = path {
        return Ok(ChardevBackend::UnixSocket {
            path: PathBuf::from(path),
            server,
            wait: server && wait,
        });
    }
    if let (Some(host), Some(port)) = (host, port) {
        let port_num = port.parse::<u16>().map_err(|_| ErrorKind::BadPort {
            host: host.to_string(),
            port: port.to_string(),
        })?;
        return Ok(ChardevBackend::Tcp {
            host: host.to_string(),
            port: port_num,
            server,
            wait: server && wait,
        });
    }
    let text = fd.unwrap_or("");
    let fd = strtox::strtoi32(text).map_err(|_| ErrorKind::UnableToParseFd {
        text: text.to_string(),
    })?;
    Ok(ChardevBackend::SocketFd {
        fd,
        server,
        wait: server && wait,
    })
}

/// `qemu_chr_parse_compat()`: a legacy backend string (`stdio`, `file:PATH`, `unix:PATH,...`,
/// `tcp:HOST:PORT,...`, `mon:...`) as chardev options labelled `label`.
///
/// `Err(None)` means QEMU fails without a message of its own (the caller reports its own).
pub fn parse_compat(
    label: &str,
    filename: &str,
    permit_mux_mon: bool,
) -> Result<Opts, Option<ErrorKind>> {
    let mut opts = Opts {
        id: Some(label.to_string()),
        items: Vec::new(),
    };
    let mut filename = filename;
    if let Some(rest) = filename.strip_prefix("mon:") {
        if !permit_mux_mon {
            return Err(Some(ErrorKind::MonNotSupportedHere));
        }
        filename = rest;
        opts.set("mux", "on");
        if filename == "stdio" {
            // Ctrl-C goes to the guest when the monitor is muxed on the terminal.
            opts.set("signal", "off");
        }
    }
    if matches!(
        filename,
        "null" | "pty" | "msmouse" | "wctablet" | "braille" | "testdev" | "stdio"
    ) {
        opts.set("backend", filename);
        return Ok(opts);
    }
    if let Some(p) = filename.strip_prefix("vc") {
        opts.set("backend", "vc");
        if let Some(dims) = p.strip_prefix(':') {
            if let Some((w, h)) = vc_dims(dims, "") {
                opts.set("width", &w);
                opts.set("height", &h);
            } else if let Some((w, h)) = vc_dims(dims, "C") {
                opts.set("cols", &w);
                opts.set("rows", &h);
            } else {
                return Err(None);
            }
        }
        return Ok(opts);
    }
    if filename == "con:" {
        opts.set("backend", "console");
        return Ok(opts);
    }
    if filename.starts_with("COM") {
        opts.set("backend", "serial");
        opts.set("path", filename);
        return Ok(opts);
    }
    for (prefix, backend) in [("file:", "file"), ("pipe:", "pipe"), ("pty:", "pty")] {
        if let Some(p) = filename.strip_prefix(prefix) {
            opts.set("backend", backend);
            opts.set("path", p);
            return Ok(opts);
        }
    }
    for prefix in ["tcp:", "telnet:", "tn3270:", "websocket:"] {
        let Some(p) = filename.strip_prefix(prefix) else {
            continue;
        };
        // sscanf(p, "%64[^:]:%32[^,]%n", host, port) or sscanf(p, ":%32[^,]%n", port)
        let (host, port, rest) = match split_host_port(p) {
            Some(v) => v,
            None => return Err(None),
        };
        opts.set("backend", "socket");
        opts.set("host", host);
        opts.set("port", port);
        if let Some(params) = rest.strip_prefix(',') {
            super::qemuopts::do_parse(&CHARDEV_OPTS, &mut opts, params, None, None, false)
                .map_err(Some)?;
        }
        match prefix {
            "telnet:" => opts.set("telnet", "on"),
            "tn3270:" => opts.set("tn3270", "on"),
            "websocket:" => opts.set("websocket", "on"),
            _ => {}
        }
        return Ok(opts);
    }
    if let Some(p) = filename.strip_prefix("udp:") {
        let _ = p;
        opts.set("backend", "udp");
        return Ok(opts);
    }
    if let Some(p) = filename.strip_prefix("unix:") {
        opts.set("backend", "socket");
        super::qemuopts::do_parse(&CHARDEV_OPTS, &mut opts, p, Some("path"), None, false)
            .map_err(Some)?;
        return Ok(opts);
    }
    if filename.starts_with("/dev/parport") || filename.starts_with("/dev/ppi") {
        opts.set("backend", "parallel");
        opts.set("path", filename);
        return Ok(opts);
    }
    if filename.starts_with("/dev/") {
        opts.set("backend", "serial");
        opts.set("path", filename);
        return Ok(opts);
    }
    Err(Some(ErrorKind::InvalidCharDriver {
        name: filename.to_string(),
    }))
}

/// `sscanf(s, "%7[0-9]<unit>x%7[0-9]")` for a `vc:WxH` or `vc:WCxHC` size.
fn vc_dims(s: &str, unit: &str) -> Option<(String, String)> {
    let digits = |t: &str| -> String {
        t.bytes()
            .take(7)
            .take_while(u8::is_ascii_digit)
            .map(char::from)
            .collect()
    };
    let w = digits(s);
    let rest = s[w.len()..].strip_prefix(unit)?.strip_prefix('x')?;
    let h = digits(rest);
    (!w.is_empty() && !h.is_empty()).then_some((w, h))
}

/// The `host:port[,rest]` of a legacy tcp backend string, as QEMU's two `sscanf` calls read it
/// (`%64[^:]:%32[^,]`, then `:%32[^,]`).
fn split_host_port(p: &str) -> Option<(&str, &str, &str)> {
    // Up to `max` bytes that are not `stop`, at least one, ending on a character boundary.
    let scan = |s: &str, stop: char, max: usize| -> Option<usize> {
        let mut end = s.find(stop).unwrap_or(s.len()).min(max);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        (end > 0).then_some(end)
    };
    if let Some(h) = scan(p, ':', 64) {
        if let Some(after) = p[h..].strip_prefix(':') {
            if let Some(e) = scan(after, ',', 32) {
                return Some((&p[..h], &after[..e], &after[e..]));
            }
        }
    }
    let after = p.strip_prefix(':')?;
    let e = scan(after, ',', 32)?;
    Some(("", &after[..e], &after[e..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::qemuopts::{parse, OptsStore, ParseFlags, Parsed};

    fn chardev(s: &str) -> Result<ChardevConfig, String> {
        let mut store = OptsStore::default();
        let mut diags = Vec::new();
        let flags = ParseFlags {
            permit_abbrev: true,
            warn_on_flag: true,
            help: true,
        };
        let i = match parse(&CHARDEV_OPTS, &mut store, s, flags, "-chardev", &mut diags)
            .map_err(|e| e.to_string())?
        {
            Parsed::Group(i) => i,
            Parsed::Help => return Err("help".into()),
        };
        from_opts(&store.groups[i], false).map_err(|e| e.to_string())
    }

    #[test]
    fn backends() {
        use ChardevBackend::*;
        let cases: &[(&str, ChardevBackend, bool)] = &[
            ("null,id=c", Null, false),
            ("stdio,id=c,mux=on", Stdio, true),
            (
                "file,id=c,path=/tmp/x",
                File {
                    path: "/tmp/x".into(),
                    append: false,
                },
                false,
            ),
            (
                "file,id=c,path=/tmp/x,append=on",
                File {
                    path: "/tmp/x".into(),
                    append: true,
                },
                false,
            ),
            (
                "socket,id=c,path=/s,server=on,wait=off",
                UnixSocket {
                    path: "/s".into(),
                    server: true,
                    wait: false,
                },
                false,
            ),
            (
                "socket,id=c,path=/s,server=on",
                UnixSocket {
                    path: "/s".into(),
                    server: true,
                    wait: true,
                },
                false,
            ),
            (
                "socket,id=c,path=/s",
                UnixSocket {
                    path: "/s".into(),
                    server: false,
                    wait: false,
                },
                false,
            ),
            (
                "socket,id=c,host=localhost,port=4444,server=on,wait=off",
                Tcp {
                    host: "localhost".into(),
                    port: 4444,
                    server: true,
                    wait: false,
                },
                false,
            ),
            (
                "socket,id=c,fd=18,server=on,wait=off",
                SocketFd {
                    fd: 18,
                    server: true,
                    wait: false,
                },
                false,
            ),
        ];
        for (input, backend, mux) in cases {
            let c = chardev(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(c.id, "c");
            assert_eq!(&c.backend, backend, "{input}");
            assert_eq!(c.mux, *mux, "{input}");
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str)] = &[
            ("foo", "chardev: no id specified"),
            ("foo,id=x", "'foo' is not a valid char driver name"),
            ("pty,id=x", "'pty' is not a valid char driver name"),
            ("id=x", "chardev: \"x\" missing backend"),
            ("null,id=1x", "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."),
            ("null,id=x,foo=bar", "Invalid parameter 'foo'"),
            ("socket,id=x", "Unable to parse FD number "),
            ("socket,id=x,fd=abc,server=on", "Unable to parse FD number abc"),
            ("socket,id=x,path=/a,host=b", "None or one of 'path', 'fd' or 'host' option required."),
            ("socket,id=x,host=localhost", "chardev: socket: no port given"),
            ("socket,id=x,path=/a,wait=off", "'wait' option is incompatible with socket in client connect mode"),
            ("socket,id=x,path=/a,delay=on,nodelay=on", "'delay' and 'nodelay' are mutually exclusive"),
            ("socket,id=x,path=/a,server=on,reconnect=1", "'reconnect' option is incompatible with socket in server listen mode"),
            ("socket,id=x,host=localhost,port=abc,server=on,wait=off", "address resolution failed for localhost:abc: Servname not supported for ai_socktype"),
            ("file,id=x", "chardev: file: no filename given"),
            ("stdio,id=x,signal=maybe", "Parameter 'signal' expects 'on' or 'off'"),
        ];
        for (input, want) in cases {
            assert_eq!(chardev(input).unwrap_err(), *want, "{input}");
        }
    }

    #[test]
    fn compat() {
        let o = parse_compat("serial0", "mon:stdio", true).unwrap();
        assert_eq!(o.get("backend"), Some("stdio"));
        assert!(o.get_bool("mux", false));
        let o = parse_compat("s", "unix:/tmp/s,server=on,wait=off", true).unwrap();
        assert_eq!(o.get("path"), Some("/tmp/s"));
        assert_eq!(o.get("server"), Some("on"));
        let o = parse_compat("s", "unix:/tmp/s,server,nowait", true).unwrap();
        assert_eq!(o.get("wait"), Some("off"));
        let o = parse_compat("s", "tcp::4444,server=on", true).unwrap();
        assert_eq!((o.get("host"), o.get("port")), (Some(""), Some("4444")));
        let o = parse_compat("s", "tcp:127.0.0.1:4444", true).unwrap();
        assert_eq!(
            (o.get("host"), o.get("port")),
            (Some("127.0.0.1"), Some("4444"))
        );
        assert_eq!(parse_compat("s", "tcp:localhost", true).unwrap_err(), None);
        // Non-ASCII text is cut on character boundaries, never inside a character.
        let long = format!("tcp:h:{}", "é".repeat(40));
        assert!(parse_compat("s", &long, true).is_ok());
        assert_eq!(
            parse_compat("s", "foo", true)
                .unwrap_err()
                .unwrap()
                .to_string(),
            "'foo' is not a valid char driver"
        );
        assert_eq!(
            parse_compat("s", "unix:/a,foo=1", true)
                .unwrap_err()
                .unwrap()
                .to_string(),
            "Invalid parameter 'foo'"
        );
    }
}
