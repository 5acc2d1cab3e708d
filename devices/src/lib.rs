//! Legacy PC devices, PCI and virtio.
