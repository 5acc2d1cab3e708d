//! The VMM: configuration, command line, the KVM virtual machine and its run state.

pub mod config;
pub mod options;
