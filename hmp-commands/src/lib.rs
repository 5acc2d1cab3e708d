//! QEMU 10's human monitor (HMP) for an x86 `pc` machine, independent of the VMM: the
//! command table ([`table`]), argument parsing ([`args`]) and expressions ([`expr`]),
//! output formats ([`format`], [`disas`]), `help`, and the commands themselves, which act
//! on the machine through [`HmpTarget`].
//!
//! ```ignore
//! let mut state = hmp_commands::HmpState::default(); // sticky /fmt defaults
//! let out = hmp_commands::run(&mut my_target, &mut state, "xp /4xb 0x7c00");
//! // "0000000000007c00: 0xfb 0xf4 0xeb 0xfd\n"
//! ```

pub mod args;
pub mod disas;
pub mod expr;
pub mod format;
pub mod handlers;
pub mod help;
pub mod keys;
pub mod monitor;
pub mod table;
pub mod target;

pub use monitor::{read_virt, run, HmpState};
pub use target::{CpuRegs, HmpResult, HmpTarget, HotpluggableCpu, QomSetValue, RunStatus, Segment};
