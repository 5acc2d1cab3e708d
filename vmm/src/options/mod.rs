//! QEMU's command line, parsed into a [`crate::config::VmConfig`].
