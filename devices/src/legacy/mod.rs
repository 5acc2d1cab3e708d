//! Legacy PC devices: the 16550 UART, the i8042 reset line.

pub mod i8042;
pub mod serial;
