//! `guest panic: <message>`, then this CPU halts. Formatting is fine here: the
//! cost only matters on the way to a halt.

use crate::line::Line;
use core::fmt::{self, Write};
use core::panic::PanicInfo;

struct Out(Line);

impl Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.str(s);
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let mut out = Out(Line::new());
    let _ = write!(out, "guest panic: {}", info.message());
    if let Some(location) = info.location() {
        let _ = write!(out, " at {}:{}", location.file(), location.line());
    }
    out.0.send();
    crate::x86::halt_forever()
}
