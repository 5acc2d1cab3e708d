//! The display: `-display` (JSON or keyval; only `none` exists here, and its `gl` and
//! `window-close` are checked when QEMU creates the early backends) and `-vga`
//! (`select_vgahw()`: only `none`). `-nographic` is recorded by `dispatch`; what it does to the
//! default devices is in `defaults`.

use crate::options::error::{Diagnostic, ErrorKind};
use crate::options::{help, objects};

use super::option_syntax::visitor_mode;
use super::report::{at, info, plain, Step};
use super::Parser;

impl Parser {
    /// `-display`.
    pub(super) fn display_option(&mut self, arg: &str, loc: &str) -> Step {
        if arg == "help" || arg == "?" {
            return Err(info(help::display_help(), 0));
        }
        let dict = self.json_or_keyval(arg, "type", loc)?;
        let mode = visitor_mode(arg);
        self.display = Some(objects::visit_display(&dict, mode).map_err(|e| at(loc, e))?);
        Ok(())
    }

    /// `-vga`, checked as QEMU creates the default devices.
    pub(super) fn check_vga(&self) -> Step {
        if let Some(model) = &self.vga {
            select_vga(model).map_err(|e| match e {
                Ok(text) => info(text, 0),
                Err(kind) => plain(kind),
            })?;
        }
        Ok(())
    }

    /// The display's options, checked as QEMU creates the early backends.
    pub(super) fn check_display(&mut self) -> Step {
        if let Some(display) = &self.display {
            if display.window_close {
                self.diags
                    .push(Diagnostic::error(None, &ErrorKind::WindowCloseIgnored));
            }
            if display.gl {
                return Err(plain(ErrorKind::OpenGlUnsupported {
                    backend: "none".into(),
                }));
            }
        }
        Ok(())
    }
}

/// `select_vgahw()`: only `none` exists here. `Err(Ok(text))` is a listing.
fn select_vga(model: &str) -> Result<(), Result<String, ErrorKind>> {
    if model == "help" {
        return Err(Ok(help::vga_help()));
    }
    const KNOWN: &[(&str, &str)] = &[
        ("none", ""),
        ("std", "standard VGA"),
        ("cirrus", "Cirrus VGA"),
        ("vmware", "VMWare SVGA"),
        ("virtio", "Virtio VGA"),
        ("qxl", "QXL VGA"),
        ("tcx", "TCX framebuffer"),
        ("cg3", "CG3 framebuffer"),
    ];
    for (name, desc) in KNOWN {
        if let Some(rest) = model.strip_prefix(name) {
            if *name != "none" {
                return Err(Err(ErrorKind::VgaNotAvailable { name: desc }));
            }
            if rest.is_empty() {
                return Ok(());
            }
            // ",retrace=dumb|precise" is the only suffix QEMU knows.
            let mut r = rest;
            while !r.is_empty() {
                let Some(v) = r.strip_prefix(",retrace=") else {
                    return Err(Err(ErrorKind::UnknownVga {
                        name: model.to_string(),
                    }));
                };
                r = if let Some(x) = v.strip_prefix("dumb") {
                    x
                } else if let Some(x) = v.strip_prefix("precise") {
                    x
                } else {
                    return Err(Err(ErrorKind::UnknownVga {
                        name: model.to_string(),
                    }));
                };
            }
            return Ok(());
        }
    }
    Err(Err(ErrorKind::UnknownVga {
        name: model.to_string(),
    }))
}
