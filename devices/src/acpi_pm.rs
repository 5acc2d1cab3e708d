//! The HW-reduced ACPI sleep control, sleep status and reset registers (one I/O port each).
//!
//! The FADT points the guest here: writing SLP_TYP=5 with SLP_EN to the sleep control register
//! is an S5 power-off, and writing the FADT's reset value to the reset register resets. This is
//! how a HW-reduced ACPI guest (Linux `acpi_hw_extended_sleep`, our test guest) powers off.

use std::sync::Arc;

use crate::bus::BusDevice;
use crate::{MachineRequest, MachineRequestSink};

/// Port offsets within the device's range.
pub const SLEEP_CONTROL_OFFSET: u64 = 0;
pub const SLEEP_STATUS_OFFSET: u64 = 1;
pub const RESET_OFFSET: u64 = 2;
/// The device occupies this many ports.
pub const PORT_COUNT: u64 = 3;
/// The `\_S5` sleep type the DSDT advertises.
pub const S5_SLEEP_TYPE: u8 = 5;
/// The value the FADT tells the guest to write to the reset register.
pub const RESET_VALUE: u8 = 0x1;

const SLP_EN: u8 = 1 << 5;
const SLP_TYP_SHIFT: u8 = 2;
const SLP_TYP_MASK: u8 = 0x7 << SLP_TYP_SHIFT;
const WAK_STS: u8 = 1 << 7;

pub struct AcpiPmDevice {
    sink: Arc<dyn MachineRequestSink>,
    sleep_status: u8,
}

impl AcpiPmDevice {
    pub fn new(sink: Arc<dyn MachineRequestSink>) -> Self {
        AcpiPmDevice {
            sink,
            sleep_status: 0,
        }
    }
}

impl BusDevice for AcpiPmDevice {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        if let (SLEEP_STATUS_OFFSET, Some(first)) = (offset, data.first_mut()) {
            *first = self.sleep_status;
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        match offset {
            // Only S5 is supported; other sleep states are ignored as on a machine whose DSDT
            // does not advertise them.
            SLEEP_CONTROL_OFFSET
                if value & SLP_EN != 0
                    && (value & SLP_TYP_MASK) >> SLP_TYP_SHIFT == S5_SLEEP_TYPE =>
            {
                self.sink.request(MachineRequest::PowerOff);
            }
            // Write-one-to-clear.
            SLEEP_STATUS_OFFSET => self.sleep_status &= !(value & WAK_STS),
            RESET_OFFSET if value == RESET_VALUE => self.sink.request(MachineRequest::Reset),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<MachineRequest>>);
    impl MachineRequestSink for Recorder {
        fn request(&self, request: MachineRequest) {
            self.0.lock().unwrap().push(request);
        }
    }

    #[test]
    fn s5_and_reset() {
        let rec = Arc::new(Recorder::default());
        let mut dev = AcpiPmDevice::new(rec.clone());
        dev.write(SLEEP_CONTROL_OFFSET, &[(3 << 2) | SLP_EN]); // S3: ignored
        dev.write(SLEEP_CONTROL_OFFSET, &[5 << 2]); // no SLP_EN
        dev.write(SLEEP_CONTROL_OFFSET, &[(5 << 2) | SLP_EN]);
        dev.write(RESET_OFFSET, &[2]);
        dev.write(RESET_OFFSET, &[RESET_VALUE]);
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec![MachineRequest::PowerOff, MachineRequest::Reset]
        );
    }
}
