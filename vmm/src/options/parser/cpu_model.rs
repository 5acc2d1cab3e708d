//! The CPU model of `-cpu`: its listing (`-cpu help`, in `qemu_process_help_options()`) and the
//! model itself (`parse_cpu_option()`).

use crate::options::error::ErrorKind;
use crate::options::help;

use super::report::{info, plain, Step};
use super::Parser;

impl Parser {
    /// `-cpu help` (or `?`) lists the CPU models.
    pub(super) fn cpu_help(&self) -> Step {
        if matches!(self.cpu_option.as_deref(), Some("help") | Some("?")) {
            return Err(info(help::cpu_list(), 0));
        }
        Ok(())
    }

    /// `parse_cpu_option()`: the model before the first comma, which must be known.
    pub(super) fn cpu_model(&self) -> Step<Option<String>> {
        match &self.cpu_option {
            None => Ok(None),
            Some(opt) => {
                let model = opt.split(',').next().unwrap_or("");
                if model.is_empty() {
                    return Err(plain(ErrorKind::EmptyCpuOption));
                }
                if !help::cpu_model_known(model) {
                    return Err(plain(ErrorKind::UnknownCpuModel {
                        model: model.to_string(),
                    }));
                }
                // TODO(config): CPU features after the model (",+x,pmu=off") are not kept.
                Ok(Some(model.to_string()))
            }
        }
    }
}
