//! `-daemonize`, `-pidfile` and `-name process=`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error("cannot create PID file: {0}")]
    PidFile(io::Error),
    #[error("cannot create PID file: Cannot lock pid file: {0}")]
    PidFileLock(io::Error),
    #[error("daemonize: {0}")]
    Fork(io::Error),
}

/// The child side of `-daemonize`: tells the waiting parent when start-up succeeded.
pub struct Daemon {
    ready: File,
}

/// Forks; the parent waits until the child reports start-up complete (exit 0) or dies
/// (exit 1), as QEMU's parent does. Returns in the child only.
pub fn daemonize() -> Result<Daemon, DaemonError> {
    let mut fds = [0; 2];
    // SAFETY: creates a pipe into a local array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(DaemonError::Fork(io::Error::last_os_error()));
    }
    // SAFETY: the descriptors were just created and are owned here.
    let (read_end, write_end) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // SAFETY: called before any other thread exists.
    match unsafe { libc::fork() } {
        -1 => Err(DaemonError::Fork(io::Error::last_os_error())),
        0 => {
            drop(read_end);
            // SAFETY: plain process-state calls in the child.
            unsafe {
                libc::setsid();
                libc::umask(0o027);
            }
            Ok(Daemon { ready: write_end })
        }
        _ => {
            drop(write_end);
            let mut byte = [0u8; 1];
            let mut read_end = read_end;
            let code = match read_end.read(&mut byte) {
                Ok(1) if byte[0] == 0 => 0,
                _ => 1,
            };
            std::process::exit(code);
        }
    }
}

impl Daemon {
    /// Detaches stdio and lets the parent exit 0.
    pub fn ready(mut self) {
        if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
            let null: OwnedFd = null.into();
            for fd in 0..3 {
                // SAFETY: redirects standard descriptors to /dev/null.
                unsafe { libc::dup2(null.as_raw_fd(), fd) };
            }
        }
        let _ = self.ready.write_all(&[0]);
    }
}

/// A locked pid file, removed when dropped (at exit).
pub struct PidFile {
    path: PathBuf,
    _file: File,
}

impl PidFile {
    pub fn create(path: &Path) -> Result<Self, DaemonError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(DaemonError::PidFile)?;
        // SAFETY: locks a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(DaemonError::PidFileLock(io::Error::last_os_error()));
        }
        file.set_len(0).map_err(DaemonError::PidFile)?;
        writeln!(file, "{}", std::process::id()).map_err(DaemonError::PidFile)?;
        Ok(PidFile {
            path: path.to_path_buf(),
            _file: file,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `-name process=`: the name `ps`/`top` show for the main thread.
pub fn set_process_name(name: &str) {
    let mut bytes: Vec<u8> = name.bytes().filter(|&b| b != 0).take(15).collect();
    bytes.push(0);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, bytes.as_ptr()) };
}
