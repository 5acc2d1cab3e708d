//! How devices deliver message-signalled interrupts: the VMM implements [`MsiInterrupt`]
//! (with KVM_SIGNAL_MSI, or an irqfd per vector), devices only compose the message.

/// Delivers one MSI message (the address/data pair the guest programmed into an MSI-X table
/// entry). Called from device worker threads and vCPU threads; must not block for long.
pub trait MsiInterrupt: Send + Sync {
    fn signal(&self, address: u64, data: u32);
}
