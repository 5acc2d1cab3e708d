//! Descriptors passed to the monitor with SCM_RIGHTS: named ones (`getfd`/`closefd`, per
//! monitor) and fd sets (`add-fd`/`remove-fd`/`query-fdsets`, shared by all monitors).

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

use qapi::types::{AddfdInfo, FdsetFdInfo, FdsetInfo};
use qapi::QapiError;

const NO_FD: &str = "No file descriptor supplied via SCM_RIGHTS";

/// Named descriptors of one monitor.
#[derive(Default)]
pub struct NamedFds {
    fds: BTreeMap<String, OwnedFd>,
}

impl NamedFds {
    pub fn getfd(&mut self, name: &str, fd: Option<OwnedFd>) -> Result<(), QapiError> {
        let fd = fd.ok_or_else(|| QapiError::generic(NO_FD))?;
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(QapiError::generic(
                "Parameter 'fdname' expects a name not starting with a digit",
            ));
        }
        // Replacing a name closes the old descriptor, as QEMU does.
        self.fds.insert(name.to_string(), fd);
        Ok(())
    }

    pub fn closefd(&mut self, name: &str) -> Result<(), QapiError> {
        self.fds
            .remove(name)
            .map(drop)
            .ok_or_else(|| QapiError::generic(format!("File descriptor named '{name}' not found")))
    }
}

impl crate::vm::FdSource for NamedFds {
    /// QEMU's `monitor_get_fd`: the caller takes the descriptor, and the name is gone.
    fn take_fd(&mut self, name: &str) -> Option<OwnedFd> {
        self.fds.remove(name)
    }
}

struct Entry {
    fd: OwnedFd,
    opaque: Option<String>,
}

/// The process-wide fd sets.
#[derive(Default)]
pub struct FdSets {
    sets: BTreeMap<i64, Vec<Entry>>,
}

impl FdSets {
    pub fn add(
        &mut self,
        fdset_id: Option<i64>,
        opaque: Option<String>,
        fd: Option<OwnedFd>,
    ) -> Result<AddfdInfo, QapiError> {
        let fd = fd.ok_or_else(|| QapiError::generic(NO_FD))?;
        let id = match fdset_id {
            Some(id) if id < 0 => {
                return Err(QapiError::generic(
                    "Parameter 'fdset-id' expects a non-negative value",
                ))
            }
            Some(id) => id,
            // The lowest id not in use.
            None => (0..).find(|id| !self.sets.contains_key(id)).unwrap_or(0),
        };
        let raw = fd.as_raw_fd();
        self.sets.entry(id).or_default().push(Entry { fd, opaque });
        Ok(AddfdInfo {
            fdset_id: id,
            fd: i64::from(raw),
        })
    }

    pub fn remove(&mut self, fdset_id: i64, fd: Option<i64>) -> Result<(), QapiError> {
        let not_found = || {
            let name = match fd {
                Some(fd) => format!("fdset-id:{fdset_id}, fd:{fd}"),
                None => format!("fdset-id:{fdset_id}"),
            };
            QapiError::generic(format!("File descriptor named '{name}' not found"))
        };
        let set = self.sets.get_mut(&fdset_id).ok_or_else(not_found)?;
        match fd {
            Some(fd) => {
                let at = set
                    .iter()
                    .position(|e| i64::from(e.fd.as_raw_fd()) == fd)
                    .ok_or_else(not_found)?;
                set.remove(at);
            }
            None => set.clear(),
        }
        if set.is_empty() {
            self.sets.remove(&fdset_id);
        }
        Ok(())
    }

    /// QEMU lists the sets highest id first (it prepends each one).
    pub fn query(&self) -> Vec<FdsetInfo> {
        self.sets
            .iter()
            .rev()
            .map(|(&id, entries)| FdsetInfo {
                fdset_id: id,
                fds: entries
                    .iter()
                    .map(|e| FdsetFdInfo {
                        fd: i64::from(e.fd.as_raw_fd()),
                        opaque: e.opaque.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}
