//! Which monitors and chardevs the event loop serves, from the configuration.

use monitor::event_loop::{LoopConfig, PassiveChardev, SerialSocket};
use qapi::types::{VersionInfo, VersionTriple};

use crate::config::{ChardevBackend, MonitorMode, VmConfig};
use crate::serial_backends::StdinPort;

/// The version we report: QEMU's, with this project in `package`.
pub fn version() -> VersionInfo {
    VersionInfo {
        qemu: VersionTriple {
            major: 10,
            minor: 0,
            micro: 2,
        },
        package: concat!("vmm ", env!("CARGO_PKG_VERSION")).to_string(),
    }
}

/// `query-chardev`'s filename for chardevs that are not sockets.
fn passive_filename(backend: &ChardevBackend) -> String {
    match backend {
        ChardevBackend::Null => "null".into(),
        ChardevBackend::Stdio => "stdio".into(),
        ChardevBackend::File { path, .. } => format!("file:{}", path.display()),
        ChardevBackend::UnixSocket { path, .. } => format!("unix:{}", path.display()),
        ChardevBackend::Tcp { host, port, .. } => format!("tcp:{host}:{port}"),
        ChardevBackend::SocketFd { fd, .. } => format!("fd:{fd}"),
    }
}

pub fn loop_config(
    config: &VmConfig,
    stdin: Option<StdinPort>,
    serial_sockets: Vec<SerialSocket>,
) -> LoopConfig {
    let monitored: Vec<_> = config
        .monitors
        .iter()
        // A monitor sharing the terminal with a serial port (the mux) is served by the
        // terminal feed, not as a chardev of its own.
        .filter(|m| config.chardevs.iter().any(|c| c.id == m.chardev && !c.mux))
        .cloned()
        .collect();
    let passive = config
        .chardevs
        .iter()
        .filter(|c| !monitored.iter().any(|m| m.chardev == c.id))
        .filter(|c| !serial_sockets.iter().any(|s| s.chardev.id == c.id))
        .map(|c| PassiveChardev {
            label: c.id.clone(),
            filename: passive_filename(&c.backend),
        })
        .collect();
    LoopConfig {
        serial_sockets,
        monitors: monitored,
        chardevs: config.chardevs.clone(),
        passive_chardevs: passive,
        stdin_serial: stdin.map(|p| (p.index, p.mux)),
        mux_monitor: stdin.is_some_and(|p| p.mux)
            && config.monitors.iter().any(|m| {
                m.mode == MonitorMode::Readline
                    && config.chardevs.iter().any(|c| c.id == m.chardev && c.mux)
            }),
        version: version(),
    }
}
