//! A 16550A UART (vm-superio) on a PC COM port, its interrupt raised through an irqfd.

use std::io::{self, Write};

use vm_superio::serial::SerialEvents;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::EventFd;

use crate::bus::BusDevice;

/// I/O base and ISA IRQ of COM1..COM4.
pub const COM_PORTS: [(u64, u32); 4] = [(0x3f8, 4), (0x2f8, 3), (0x3e8, 4), (0x2e8, 3)];
/// Ports each UART decodes.
pub const UART_PORT_COUNT: u64 = 8;

/// Raises the UART's interrupt line through an eventfd registered as a KVM irqfd.
pub struct IrqLine(pub EventFd);

impl Trigger for IrqLine {
    type E = io::Error;
    fn trigger(&self) -> io::Result<()> {
        self.0.write(1)
    }
}

/// Tells the input side when the guest has drained the receive FIFO, so it can send more.
pub struct InputSpace(pub EventFd);

impl SerialEvents for InputSpace {
    fn buffer_read(&self) {}
    fn out_byte(&self) {}
    fn tx_lost_byte(&self) {}
    fn in_buffer_empty(&self) {
        // Only a full eventfd counter can fail, and then a wake-up is pending anyway.
        let _ = self.0.write(1);
    }
}

type Uart = Serial<IrqLine, InputSpace, Box<dyn Write + Send>>;

/// A COM port: the UART plus what is needed to rebuild it on reset.
pub struct SerialPort {
    uart: Option<Uart>,
    /// A break was received: the next LSR read shows Break Interrupt (vm-superio has no
    /// line-status errors of its own), and that read clears it, as on a 16550.
    break_pending: bool,
}

/// The line status register's offset and its Break Interrupt bit.
const LSR_OFFSET: u64 = 5;
const LSR_BREAK_INTERRUPT: u8 = 0x10;

impl SerialPort {
    pub fn new(irq: EventFd, input_space: EventFd, out: Box<dyn Write + Send>) -> Self {
        SerialPort {
            uart: Some(Serial::with_events(
                IrqLine(irq),
                InputSpace(input_space),
                out,
            )),
            break_pending: false,
        }
    }

    /// A break condition on the line (the mux's Ctrl-A b): a UART receives a NUL character
    /// with Break Interrupt set in LSR; Linux turns that into a magic SysRq.
    pub fn send_break(&mut self) {
        if self.enqueue_input(&[0]) == 1 {
            self.break_pending = true;
        }
    }

    fn uart(&mut self) -> &mut Uart {
        // Always Some outside `reset`.
        self.uart.as_mut().expect("uart present")
    }

    /// Queues bytes for the guest to read; returns how many fit in the receive FIFO.
    pub fn enqueue_input(&mut self, bytes: &[u8]) -> usize {
        let uart = self.uart();
        let room = uart.fifo_capacity();
        let n = bytes.len().min(room);
        if n == 0 {
            return 0;
        }
        match uart.enqueue_raw_bytes(&bytes[..n]) {
            Ok(n) => n,
            // The interrupt could not be raised; the bytes are queued regardless.
            Err(_) => n,
        }
    }

    /// Room left in the receive FIFO.
    pub fn input_room(&mut self) -> usize {
        self.uart().fifo_capacity()
    }

    /// Back to power-on register state, keeping the interrupt line and backend.
    pub fn reset(&mut self) -> io::Result<()> {
        self.break_pending = false;
        if let Some(uart) = self.uart.take() {
            let irq = uart.interrupt_evt().0.try_clone();
            let space = uart.events().0.try_clone();
            let out = uart.into_writer();
            let (irq, space) = (irq?, space?);
            self.uart = Some(Serial::with_events(IrqLine(irq), InputSpace(space), out));
        }
        Ok(())
    }
}

impl BusDevice for SerialPort {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let mut value = self.uart().read(offset as u8);
        if offset == LSR_OFFSET && std::mem::take(&mut self.break_pending) {
            value |= LSR_BREAK_INTERRUPT;
        }
        data.fill(0xff);
        if let Some(first) = data.first_mut() {
            *first = value;
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let Some(&value) = data.first() else { return };
        // A failing backend (closed stdout, full disk) loses the byte, as on a real line.
        let _ = self.uart().write(offset as u8, value);
    }
}

/// Writes straight to a file descriptor, unbuffered: the guest's bytes must reach the
/// terminal or file as they are sent (a prompt has no newline to flush a line buffer).
pub struct FdWriter(pub std::os::fd::OwnedFd);

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: writes from a valid buffer to a descriptor we own.
            let n = unsafe { libc::write(self.0.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => {}
                // The descriptor may share a non-blocking file description (a terminal
                // whose input side is polled): wait until it drains.
                io::ErrorKind::WouldBlock => wait_writable(self.0.as_raw_fd()),
                _ => return Err(err),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn wait_writable(fd: std::os::fd::RawFd) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: polls one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}
