//! Connects each COM port to its chardev backend (`-serial`, `-chardev`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};

use devices::legacy::serial::FdWriter;
use monitor::event_loop::SerialSocket;
use monitor::socket_sink::SocketSink;
use thiserror::Error;

use crate::config::{ChardevBackend, VmConfig};
use crate::machine::SerialOutput;

#[derive(Debug, Error)]
pub enum SerialBackendError {
    #[error("chardev '{0}' not found")]
    NoChardev(String),
    #[error("Could not open '{path}': {source}")]
    Open { path: String, source: io::Error },
}

/// The serial ports' outputs, and which port (if any) reads the VMM's stdin.
pub struct SerialBackends {
    /// Per COM port in order: its output, or `None` if the port is absent.
    pub outputs: Vec<Option<SerialOutput>>,
    pub stdin_port: Option<StdinPort>,
    /// Ports on socket chardevs, served by the monitor event loop.
    pub sockets: Vec<SerialSocket>,
}

#[derive(Debug, Clone, Copy)]
pub struct StdinPort {
    pub index: usize,
    /// A monitor is multiplexed on the terminal (`mon:stdio`, `-nographic`): Ctrl-A commands.
    pub mux: bool,
}

fn stdout_writer() -> io::Result<SerialOutput> {
    let fd: OwnedFd = io::stdout().as_fd().try_clone_to_owned()?;
    Ok(Box::new(FdWriter(fd)))
}

pub fn open(config: &VmConfig) -> Result<SerialBackends, SerialBackendError> {
    let mut outputs: Vec<Option<SerialOutput>> = Vec::new();
    let mut stdin_port = None;
    let mut sockets = Vec::new();
    for (index, id) in config.serials.iter().enumerate() {
        let Some(id) = id else {
            outputs.push(None);
            continue;
        };
        let chardev = config
            .chardevs
            .iter()
            .find(|c| &c.id == id)
            .ok_or_else(|| SerialBackendError::NoChardev(id.clone()))?;
        let out: SerialOutput = match &chardev.backend {
            ChardevBackend::Null => Box::new(io::sink()),
            ChardevBackend::Stdio => {
                stdin_port = Some(StdinPort {
                    index,
                    mux: chardev.mux,
                });
                stdout_writer().map_err(|source| SerialBackendError::Open {
                    path: "stdout".into(),
                    source,
                })?
            }
            ChardevBackend::File { path, append } => {
                let file = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .append(*append)
                    .truncate(!*append)
                    .open(path)
                    .map_err(|source| SerialBackendError::Open {
                        path: path.display().to_string(),
                        source,
                    })?;
                Box::new(FdWriter(file.into()))
            }
            ChardevBackend::UnixSocket { .. }
            | ChardevBackend::Tcp { .. }
            | ChardevBackend::SocketFd { .. } => {
                let sink = SocketSink::default();
                sockets.push(SerialSocket {
                    port: index,
                    chardev: chardev.clone(),
                    sink: sink.clone(),
                });
                Box::new(sink)
            }
        };
        outputs.push(Some(out));
    }
    Ok(SerialBackends {
        outputs,
        stdin_port,
        sockets,
    })
}

/// Writes to the terminal directly (mux messages such as "QEMU: Terminated").
pub fn write_stdout(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}
