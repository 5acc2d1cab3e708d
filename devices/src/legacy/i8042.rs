//! The i8042 keyboard controller, as far as a VMM without a keyboard needs it: the CPU reset
//! line (command 0xFE on port 0x64), which is how Linux (`reboot=k`) and our guest reset.

use std::sync::{Arc, Mutex};

use vm_superio::{I8042Device, Trigger};

use crate::bus::{lock, BusDevice};
use crate::{MachineRequest, MachineRequestSink};

/// The data and command/status ports.
pub const DATA_PORT: u64 = 0x60;
pub const COMMAND_PORT: u64 = 0x64;
/// vm-superio decodes the command register at this offset from the data port.
const COMMAND_OFFSET: u8 = (COMMAND_PORT - DATA_PORT) as u8;

/// Turns the controller's reset pulse into a machine reset request.
pub struct ResetLine(Arc<dyn MachineRequestSink>);

impl Trigger for ResetLine {
    type E = std::convert::Infallible;
    fn trigger(&self) -> Result<(), Self::E> {
        self.0.request(MachineRequest::Reset);
        Ok(())
    }
}

/// One of the controller's two ports; both share the controller.
pub struct I8042Port {
    controller: Arc<Mutex<I8042Device<ResetLine>>>,
    register: u8,
}

/// Builds the data-port and command-port bus devices of one controller.
pub fn i8042_ports(sink: Arc<dyn MachineRequestSink>) -> (I8042Port, I8042Port) {
    let controller = Arc::new(Mutex::new(I8042Device::new(ResetLine(sink))));
    (
        I8042Port {
            controller: controller.clone(),
            register: 0,
        },
        I8042Port {
            controller,
            register: COMMAND_OFFSET,
        },
    )
}

impl BusDevice for I8042Port {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        let value = lock(&self.controller).read(self.register);
        data.fill(value);
    }

    fn write(&mut self, _offset: u64, data: &[u8]) {
        if let Some(&value) = data.first() {
            let Ok(()) = lock(&self.controller).write(self.register, value);
        }
    }
}
