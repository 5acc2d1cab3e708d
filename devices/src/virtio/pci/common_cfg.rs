//! The common configuration structure (virtio 1.x 4.1.4.3). Fields are accessed with their
//! natural width (64-bit queue addresses as two 32-bit halves, or one 64-bit access); any
//! other access reads 0 and writes nothing, as the spec leaves it undefined.

use std::sync::atomic::Ordering;

use super::interrupt::NO_VECTOR;
use super::VirtioPciDevice;
use crate::bus::lock;
use crate::virtio::status;

const DEVICE_FEATURE_SELECT: u64 = 0x00;
const DEVICE_FEATURE: u64 = 0x04;
const DRIVER_FEATURE_SELECT: u64 = 0x08;
const DRIVER_FEATURE: u64 = 0x0c;
const MSIX_CONFIG: u64 = 0x10;
const NUM_QUEUES: u64 = 0x12;
const DEVICE_STATUS: u64 = 0x14;
const CONFIG_GENERATION: u64 = 0x15;
const QUEUE_SELECT: u64 = 0x16;
const QUEUE_SIZE: u64 = 0x18;
const QUEUE_MSIX_VECTOR: u64 = 0x1a;
const QUEUE_ENABLE: u64 = 0x1c;
const QUEUE_NOTIFY_OFF: u64 = 0x1e;
const QUEUE_DESC: u64 = 0x20;
const QUEUE_DRIVER: u64 = 0x28;
const QUEUE_DEVICE: u64 = 0x30;

fn put(data: &mut [u8], value: u64) {
    let bytes = value.to_le_bytes();
    let n = data.len().min(8);
    data[..n].copy_from_slice(&bytes[..n]);
}

fn get(data: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = data.len().min(8);
    bytes[..n].copy_from_slice(&data[..n]);
    u64::from_le_bytes(bytes)
}

/// Replaces the 32-bit half of `field` at byte `offset` (0 or 4) with `value`, or the whole
/// field for an 8-byte access at 0.
fn set_part(field: &mut u64, offset: u64, len: usize, value: u64) {
    match (offset, len) {
        (0, 8) => *field = value,
        (0, 4) => *field = (*field & !0xffff_ffff) | value,
        (4, 4) => *field = (*field & 0xffff_ffff) | value << 32,
        _ => {}
    }
}

fn get_part(field: u64, offset: u64, len: usize) -> u64 {
    match (offset, len) {
        (0, 8) => field,
        (0, 4) => field & 0xffff_ffff,
        (4, 4) => field >> 32,
        _ => 0,
    }
}

impl VirtioPciDevice {
    pub(super) fn status(&self) -> u8 {
        self.interrupt.status.load(Ordering::SeqCst)
    }

    /// Queue fields may change only between FEATURES_OK and DRIVER_OK, and not once the
    /// driver gave up or the device needs a reset.
    fn queue_config_allowed(&self) -> bool {
        let s = self.status();
        s & status::FEATURES_OK != 0
            && s & (status::DRIVER_OK | status::FAILED | status::DEVICE_NEEDS_RESET) == 0
    }

    /// A vector the driver may assign: one the table has, or NO_VECTOR. Anything else is
    /// stored as NO_VECTOR, which is how the driver learns the assignment failed.
    fn checked_vector(&self, vector: u16) -> u16 {
        if vector < lock(&self.interrupt.msix).vectors() {
            vector
        } else {
            NO_VECTOR
        }
    }

    pub(super) fn common_read(&mut self, offset: u64, data: &mut [u8]) {
        let len = data.len();
        let q = usize::from(self.queue_select);
        let queue = self.queues.get(q);
        let value: u64 = match (offset, len) {
            (DEVICE_FEATURE_SELECT, 4) => u64::from(self.device_feature_select),
            (DEVICE_FEATURE, 4) => match self.device_feature_select {
                0 => self.device.features() & 0xffff_ffff,
                1 => self.device.features() >> 32,
                _ => 0,
            },
            (DRIVER_FEATURE_SELECT, 4) => u64::from(self.driver_feature_select),
            (DRIVER_FEATURE, 4) => match self.driver_feature_select {
                0 => self.driver_features & 0xffff_ffff,
                1 => self.driver_features >> 32,
                _ => 0,
            },
            (MSIX_CONFIG, 2) => u64::from(self.interrupt.config_vector.load(Ordering::SeqCst)),
            (NUM_QUEUES, 2) => self.queues.len() as u64,
            (DEVICE_STATUS, 1) => u64::from(self.status()),
            (CONFIG_GENERATION, 1) => {
                u64::from(self.interrupt.config_generation.load(Ordering::SeqCst))
            }
            (QUEUE_SELECT, 2) => u64::from(self.queue_select),
            // An absent queue reads size 0 (4.1.4.3.1).
            (QUEUE_SIZE, 2) => queue.map_or(0, |s| u64::from(s.size)),
            (QUEUE_MSIX_VECTOR, 2) => self
                .interrupt
                .queue_vectors
                .get(q)
                .map_or(u64::from(NO_VECTOR), |v| {
                    u64::from(v.load(Ordering::SeqCst))
                }),
            (QUEUE_ENABLE, 2) => queue.map_or(0, |s| u64::from(s.enabled)),
            // queue_notify_off * multiplier is the queue's offset in the notify area.
            (QUEUE_NOTIFY_OFF, 2) if queue.is_some() => q as u64,
            (o, _) if (QUEUE_DESC..QUEUE_DESC + 8).contains(&o) => {
                queue.map_or(0, |s| get_part(s.desc, o - QUEUE_DESC, len))
            }
            (o, _) if (QUEUE_DRIVER..QUEUE_DRIVER + 8).contains(&o) => {
                queue.map_or(0, |s| get_part(s.driver, o - QUEUE_DRIVER, len))
            }
            (o, _) if (QUEUE_DEVICE..QUEUE_DEVICE + 8).contains(&o) => {
                queue.map_or(0, |s| get_part(s.device, o - QUEUE_DEVICE, len))
            }
            _ => 0,
        };
        put(data, value);
    }

    pub(super) fn common_write(&mut self, offset: u64, data: &[u8]) {
        let len = data.len();
        let value = get(data);
        match (offset, len) {
            (DEVICE_FEATURE_SELECT, 4) => self.device_feature_select = value as u32,
            (DRIVER_FEATURE_SELECT, 4) => self.driver_feature_select = value as u32,
            (DRIVER_FEATURE, 4) => self.write_driver_features(value),
            (MSIX_CONFIG, 2) => {
                let v = self.checked_vector(value as u16);
                self.interrupt.config_vector.store(v, Ordering::SeqCst);
            }
            (DEVICE_STATUS, 1) => self.write_status(value as u8),
            (QUEUE_SELECT, 2) => self.queue_select = value as u16,
            _ => self.write_queue_field(offset, len, value),
        }
    }

    /// Feature bits are the driver's to change only while it negotiates (DRIVER set,
    /// FEATURES_OK not yet).
    fn write_driver_features(&mut self, value: u64) {
        let s = self.status();
        if s & status::DRIVER == 0 || s & (status::FEATURES_OK | status::FAILED) != 0 {
            return;
        }
        match self.driver_feature_select {
            0 => self.driver_features = (self.driver_features & !0xffff_ffff) | value,
            1 => self.driver_features = (self.driver_features & 0xffff_ffff) | value << 32,
            _ => {}
        }
    }

    fn write_queue_field(&mut self, offset: u64, len: usize, value: u64) {
        if !self.queue_config_allowed() {
            return;
        }
        let index = self.queue_select;
        let q = usize::from(index);
        if q >= self.queues.len() {
            return;
        }
        match (offset, len) {
            (QUEUE_MSIX_VECTOR, 2) => {
                let v = self.checked_vector(value as u16);
                self.interrupt.queue_vectors[q].store(v, Ordering::SeqCst);
            }
            // Ring layout is fixed once the queue is enabled.
            _ if self.queues[q].enabled => {}
            (QUEUE_SIZE, 2) => {
                self.queues[q].set_size(value as u16);
            }
            // Writing 0 is not allowed to the driver (no VIRTIO_F_RING_RESET offered).
            (QUEUE_ENABLE, 2) if value == 1 => {
                let mem = self.mem.clone();
                if let Err(e) = self.queues[q].enable(index, &mem) {
                    log::warn!("virtio-pci: {e}");
                    self.set_needs_reset();
                }
            }
            (o, _) if (QUEUE_DESC..QUEUE_DESC + 8).contains(&o) => {
                set_part(&mut self.queues[q].desc, o - QUEUE_DESC, len, value)
            }
            (o, _) if (QUEUE_DRIVER..QUEUE_DRIVER + 8).contains(&o) => {
                set_part(&mut self.queues[q].driver, o - QUEUE_DRIVER, len, value)
            }
            (o, _) if (QUEUE_DEVICE..QUEUE_DEVICE + 8).contains(&o) => {
                set_part(&mut self.queues[q].device, o - QUEUE_DEVICE, len, value)
            }
            _ => {}
        }
    }
}
