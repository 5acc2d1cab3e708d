//! The interface between a virtio device model and its transport.

use std::io;
use std::sync::Arc;

use thiserror::Error;
use virtio_queue::Queue;
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::EventFd;

/// Which interrupt a device raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtioInterruptType {
    /// The device configuration space changed.
    Config,
    /// Buffers were used in this queue.
    Queue(u16),
}

/// How a device signals its driver; the transport implements it. Callable from any thread.
pub trait VirtioInterrupt: Send + Sync {
    fn trigger(&self, kind: VirtioInterruptType);

    /// The device met a driver error it cannot continue from: sets DEVICE_NEEDS_RESET in the
    /// device status and, if the driver is running (DRIVER_OK), sends a config interrupt.
    fn set_needs_reset(&self);
}

/// A queue the driver enabled, ready for the device.
pub struct ActiveQueue {
    /// The queue's index as the driver numbered it.
    pub index: u16,
    pub queue: Queue,
    /// Signalled when the driver notifies the queue (ioeventfd or the transport's MMIO path).
    pub event: EventFd,
}

/// What a device gets at DRIVER_OK.
pub struct ActivateContext {
    pub mem: GuestMemoryMmap<()>,
    /// The features the driver accepted (always including VERSION_1).
    pub acked_features: u64,
    /// Enabled queues, in index order. Queues the driver left disabled are absent.
    pub queues: Vec<ActiveQueue>,
    pub interrupt: Arc<dyn VirtioInterrupt>,
}

#[derive(Debug, Error)]
pub enum ActivateError {
    #[error("the device is already active")]
    AlreadyActive,
    #[error("queue {0} is required but the driver did not enable it")]
    MissingQueue(u16),
    #[error("cannot start the device worker: {0}")]
    Io(#[from] io::Error),
}

/// A virtio device model. Config accesses arrive on vCPU threads with the transport locked;
/// queue work belongs on the device's own thread, started by `activate`.
pub trait VirtioDevice: Send {
    /// The virtio device ID (5 for the balloon).
    fn device_type(&self) -> u32;

    /// Maximum size of each queue the device offers; the length is the queue count.
    fn queue_max_sizes(&self) -> &[u16];

    /// Feature bits offered, VERSION_1 included.
    fn features(&self) -> u64;

    /// Reads the device configuration space. Out-of-range bytes read as all-ones.
    fn read_config(&self, offset: u64, data: &mut [u8]);

    /// Writes the device configuration space. Out-of-range writes are dropped.
    fn write_config(&mut self, offset: u64, data: &[u8]);

    /// Starts the device with the negotiated features and enabled queues.
    fn activate(&mut self, ctx: ActivateContext) -> Result<(), ActivateError>;

    /// Stops the device synchronously (its worker has exited when this returns) and drops
    /// everything the driver set up. Device-specific host state (a balloon's target) stays.
    fn reset(&mut self);
}
