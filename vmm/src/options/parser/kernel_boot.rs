//! The guest's boot: `-kernel`, `-initrd`, `-append`, `-shim`, `-dtb` (machine options, checked
//! by `qemu_validate_options()`: nothing to append to, load or verify without a kernel) and
//! `-boot` (keyval merged into the machine options; its drive letters are checked when the
//! machine's `boot` property is set).

use crate::options::error::ErrorKind;

use super::machine_options::{dict_str, put_str};
use super::report::{plain, Step};
use super::Parser;

/// What `-boot help` prints.
fn boot_help() -> String {
    "boot-opts options:\n  menu=<bool (on/off)>\n  once=<str>\n  order=<str>\n  \
     reboot-timeout=<num>\n  splash-time=<num>\n  splash=<str>\n  strict=<bool (on/off)>\n"
        .to_string()
}

/// `validate_bootdevices()`: drive letters a-p, each once.
pub(super) fn validate_boot_devices(devices: &str) -> Result<(), ErrorKind> {
    let mut seen = 0u32;
    for c in devices.chars() {
        if !('a'..='p').contains(&c) {
            return Err(ErrorKind::InvalidBootDevice { device: c });
        }
        let bit = 1u32 << (c as u32 - 'a' as u32);
        if seen & bit != 0 {
            return Err(ErrorKind::BootDeviceTwice { device: c });
        }
        seen |= bit;
    }
    Ok(())
}

impl Parser {
    /// `-kernel`, `-shim`, `-append`, `-initrd`, `-dtb`: the machine property of that name.
    pub(super) fn kernel_option(&mut self, name: &str, arg: &str) {
        put_str(&mut self.machine_dict, name, arg)
    }

    /// `-boot`: the machine's `boot` property.
    pub(super) fn boot_option(&mut self, arg: &str, loc: &str) -> Step {
        self.machine_property_opt(arg, "order", "boot", boot_help, loc)
    }

    /// `qemu_validate_options()`: `-append`, `-shim` and `-initrd` need `-kernel`.
    pub(super) fn validate_kernel_options(&self) -> Step {
        let kernel = dict_str(&self.machine_dict, "kernel");
        if kernel.is_none() {
            if dict_str(&self.machine_dict, "append").is_some() {
                return Err(plain(ErrorKind::AppendWithoutKernel));
            }
            if dict_str(&self.machine_dict, "shim").is_some() {
                return Err(plain(ErrorKind::ShimWithoutKernel));
            }
            if dict_str(&self.machine_dict, "initrd").is_some() {
                return Err(plain(ErrorKind::InitrdWithoutKernel));
            }
        }
        Ok(())
    }
}
