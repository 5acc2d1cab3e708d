//! Character device backends and their users: the `-chardev` backends QEMU creates with the
//! early backends, the one chardev that may use stdio, and how many frontends (monitors,
//! serial ports) use each chardev (`qemu_chr_fe_init()`). `-chardev` itself is parsed by
//! `dispatch` into the parser's chardev QemuOpts.

use crate::config::{ChardevBackend, ChardevConfig};
use crate::options::chardev;
use crate::options::error::ErrorKind;

use super::report::{at, info, Step};
use super::Parser;

/// The chardevs created so far.
pub(super) struct Chardevs {
    pub(super) configs: Vec<ChardevConfig>,
    /// Whether one of them is on stdio.
    pub(super) stdio_in_use: bool,
}

impl Parser {
    /// Every `-chardev` (and monitor chardev), created in order (`qemu_create_early_backends()`).
    pub(super) fn create_chardevs(&self) -> Step<Chardevs> {
        let mut chardevs = Chardevs {
            configs: Vec::new(),
            stdio_in_use: false,
        };
        for (i, opts) in self.chardev.groups.iter().enumerate() {
            let loc = self.chardev_locations.get(i).cloned().unwrap_or_default();
            if matches!(opts.get("backend"), Some("help") | Some("?")) {
                return Err(info(chardev::help_text(), 0));
            }
            let mut chr = chardev::from_opts(opts, self.daemonize).map_err(|e| at(&loc, e))?;
            chr.location = loc.clone();
            claim_stdio(&chr, &mut chardevs.stdio_in_use).map_err(|e| at(&loc, e))?;
            chardevs.configs.push(chr);
        }
        Ok(chardevs)
    }
}

/// Only one chardev may use stdio (`qemu_chr_open_stdio()`).
pub(super) fn claim_stdio(chr: &ChardevConfig, in_use: &mut bool) -> Result<(), ErrorKind> {
    if chr.backend == ChardevBackend::Stdio {
        if *in_use {
            return Err(ErrorKind::StdioInUse);
        }
        *in_use = true;
    }
    Ok(())
}

/// How many frontends (monitors, serial ports) use each chardev (`qemu_chr_fe_init()`).
#[derive(Default)]
pub(super) struct Frontends {
    uses: Vec<(String, usize)>,
}

impl Frontends {
    /// One more frontend on chardev `id`: a multiplexed chardev takes four, another one.
    pub(super) fn attach(&mut self, chardevs: &[ChardevConfig], id: &str) -> Result<(), ErrorKind> {
        let mux = chardevs.iter().any(|c| c.id == id && c.mux);
        let uses = match self.uses.iter_mut().find(|(k, _)| k == id) {
            Some((_, n)) => n,
            None => {
                self.uses.push((id.to_string(), 0));
                &mut self.uses.last_mut().expect("just pushed").1
            }
        };
        if mux && *uses >= 4 {
            return Err(ErrorKind::MuxFull { id: id.to_string() });
        }
        if !mux && *uses >= 1 {
            return Err(ErrorKind::ChardevInUse { id: id.to_string() });
        }
        *uses += 1;
        Ok(())
    }
}
