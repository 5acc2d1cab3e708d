//! The host terminal behind `stdio` chardevs: raw mode while the VMM runs, restored on every
//! exit path (normal exit, signals, panics), as QEMU's stdio backend does.

use std::sync::Mutex;

static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Puts stdin's terminal (if it is one) in raw mode. `keep_signals` leaves ISIG on so Ctrl-C
/// still signals the VMM (`-serial stdio`); the monitor mux passes Ctrl-C to the guest.
pub fn set_raw(keep_signals: bool) {
    // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with a properly sized termios.
    unsafe {
        if libc::isatty(0) == 0 {
            return;
        }
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return;
        }
        *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
        t.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        t.c_oflag |= libc::OPOST;
        t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN);
        if !keep_signals {
            t.c_lflag &= !libc::ISIG;
        }
        t.c_cflag &= !(libc::CSIZE | libc::PARENB);
        t.c_cflag |= libc::CS8;
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        libc::tcsetattr(0, libc::TCSANOW, &t);
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Restores the terminal settings saved by [`set_raw`]; safe to call more than once.
pub fn restore() {
    let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(t) = saved {
        // SAFETY: restores settings previously read from the same descriptor.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
}
