//! Disks: `disk_image`, `-hda` ... `-hdd`, `-cdrom`, `-fda`, `-fdb`, and `-blockdev`. This VMM
//! has no disk controller: a drive is refused when QEMU creates the early backends, after
//! QEMU's own checks of its file; `-blockdev` is checked and dropped.

use crate::options::error::ErrorKind;
use crate::options::objects;

use super::option_syntax::visitor_mode;
use super::report::{at, Step};
use super::Parser;

/// A drive given as `disk_image`, `-hda` ... `-cdrom`, `-fda`: rejected (no disk controller),
/// after QEMU's own checks of the file.
pub(super) struct Drive {
    location: String,
    file: String,
    interface: &'static str,
    bus: u32,
    unit: u32,
}

impl Parser {
    /// A positional argument: a disk image on the first IDE bus.
    pub(super) fn disk_image(&mut self, arg: &str) {
        self.drives.push(Drive {
            location: arg.to_string(),
            file: arg.to_string(),
            interface: "ide",
            bus: 0,
            unit: 0,
        });
    }

    /// `-hda`, `-hdb`, `-hdc`, `-hdd`, `-cdrom`, `-fda`, `-fdb` (option `name`).
    pub(super) fn drive_option(&mut self, name: &str, arg: &str, loc: &str) {
        let (interface, bus, unit) = match name {
            "hda" => ("ide", 0, 0),
            "hdb" => ("ide", 0, 1),
            "hdc" | "cdrom" => ("ide", 1, 0),
            "hdd" => ("ide", 1, 1),
            "fda" => ("floppy", 0, 0),
            _ => ("floppy", 0, 1),
        };
        self.drives.push(Drive {
            location: loc.to_string(),
            file: arg.to_string(),
            interface,
            bus,
            unit,
        });
    }

    /// `-blockdev`.
    pub(super) fn blockdev_option(&mut self, arg: &str, loc: &str) -> Step {
        let dict = self.json_or_keyval(arg, "driver", loc)?;
        let mode = visitor_mode(arg);
        // TODO(config): VmConfig has no block devices; -blockdev is checked and dropped.
        objects::visit_blockdev(&dict, mode).map_err(|e| at(loc, e))?;
        Ok(())
    }

    /// Every drive, in order: the first one fails.
    pub(super) fn check_drives(&self) -> Step {
        for drive in &self.drives {
            check_drive(drive).map_err(|e| at(&drive.location, e))?;
        }
        Ok(())
    }
}

/// A disk image: QEMU opens the file first, then finds no controller for it.
fn check_drive(drive: &Drive) -> Result<(), ErrorKind> {
    if !drive.file.is_empty() {
        match std::fs::metadata(&drive.file) {
            Err(e) => {
                return Err(ErrorKind::CouldNotOpen {
                    path: drive.file.clone(),
                    reason: crate::os_error::strerror(&e),
                })
            }
            Ok(m) if m.is_dir() => {
                return Err(ErrorKind::NotRegularFile {
                    path: drive.file.clone(),
                })
            }
            Ok(_) => {}
        }
    }
    Err(ErrorKind::NoDiskInterface {
        interface: drive.interface,
        bus: drive.bus,
        unit: drive.unit,
    })
}
