//! The VMM: configuration, command line, the KVM virtual machine and its run state.

pub mod arch;
pub mod boot;
pub mod config;
pub mod cpu_state;
pub mod daemon;
pub mod dump;
pub mod guest_access;
pub mod guest_write;
pub mod machine;
pub mod machine_events;
pub mod memory;
pub mod memsave;
pub mod options;
pub mod os_error;
pub mod qom;
pub mod run_state;
pub mod serial_backends;
pub mod startup;
pub mod vcpu;

/// The built-in test guest (see `guest/`), booted when no `-kernel` is given.
pub static BUILTIN_GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.elf"));
pub mod hmp;
pub mod hmp_complete;
pub mod monitors;
pub mod pci_devices;
pub mod qmp_commands;
pub mod qom_commands;
pub mod vm_backend;
