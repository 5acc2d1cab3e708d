//! Devices: `-device` (QemuOpts or JSON; `help` lists them), `-global`
//! (`qemu_global_option()`), and the checks of `qemu_create_cli_devices()`.

use crate::config::DeviceConfig;
use crate::options::error::ErrorKind;
use crate::options::json;
use crate::options::qemuopts::{self, d, Opts, OptsList, Parsed as OptsParsed};
use crate::options::value::Value;

use super::option_syntax::{noisily, S};
use super::report::{at, info, Step};
use super::Parser;

static GLOBAL_OPTS: OptsList = OptsList {
    name: "global",
    implied: None,
    merge: false,
    desc: Some(&[d("driver", S), d("property", S), d("value", S)]),
};

static DEVICE_OPTS: OptsList = OptsList {
    name: "device",
    implied: Some("driver"),
    merge: false,
    desc: None,
};

/// A `-device`: QemuOpts form or JSON.
pub(super) struct DeviceEntry {
    location: String,
    json: bool,
    pub(super) driver: Option<String>,
    id: Option<String>,
    props: Vec<(String, String)>,
}

impl Parser {
    /// `-device`.
    pub(super) fn device_option(&mut self, arg: &str, loc: &str) -> Step {
        if arg.starts_with('{') {
            let Value::Dict(dict) = json::parse(arg).map_err(|e| at(loc, e))? else {
                return Err(at(
                    loc,
                    ErrorKind::InvalidParameterType {
                        name: "<anonymous>".into(),
                        expected: "object".into(),
                    },
                ));
            };
            let text = |k: &str| Value::get(&dict, k).and_then(Value::scalar_text);
            let props = dict
                .iter()
                .filter(|(k, _)| k != "driver" && k != "id")
                .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_else(|| json_text(v))))
                .collect();
            self.devices.push(DeviceEntry {
                location: loc.to_string(),
                json: true,
                driver: text("driver"),
                id: text("id"),
                props,
            });
            return Ok(());
        }
        let parsed = qemuopts::parse(
            &DEVICE_OPTS,
            &mut self.device_store,
            arg,
            noisily(true),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Ok(());
        };
        let opts = self.device_store.groups[g].clone();
        if matches!(opts.get("driver"), Some("help") | Some("?")) || opts.has("help") {
            // TODO(devices): `-device help` lists nothing until the device model registry exists.
            return Err(info(String::new(), 0));
        }
        self.devices.push(DeviceEntry {
            location: loc.to_string(),
            json: false,
            driver: opts.get("driver").map(str::to_string),
            id: opts.id.clone(),
            props: opts
                .items
                .iter()
                .filter(|(k, _)| k != "driver")
                .cloned()
                .collect(),
        });
        Ok(())
    }

    /// `qemu_global_option()`.
    pub(super) fn global_option(&mut self, arg: &str, loc: &str) -> Step {
        // sscanf(str, "%63[^.=].%63[^=]%n", driver, property, &offset) == 2 && str[offset] == '='
        if let Some(dot) = arg.find(['.', '=']) {
            if arg.as_bytes()[dot] == b'.' && dot > 0 && dot <= 63 {
                let rest = &arg[dot + 1..];
                if let Some(eq) = rest.find('=') {
                    if eq > 0 && eq <= 63 {
                        let mut opts = Opts::default();
                        opts.set("driver", &arg[..dot]);
                        opts.set("property", &rest[..eq]);
                        opts.set("value", &rest[eq + 1..]);
                        self.global.groups.push(opts);
                        return Ok(());
                    }
                }
            }
        }
        let parsed = qemuopts::parse(
            &GLOBAL_OPTS,
            &mut self.global,
            arg,
            noisily(false),
            loc,
            &mut self.diags,
        )
        .map_err(|e| at(loc, e))?;
        let OptsParsed::Group(g) = parsed else {
            return Err(info(qemuopts::help_text(&GLOBAL_OPTS), 1));
        };
        let o = &self.global.groups[g];
        if !(o.has("driver") && o.has("property") && o.has("value")) {
            return Err(at(loc, ErrorKind::GlobalRequired));
        }
        Ok(())
    }

    /// Device checks QEMU makes when it creates them.
    pub(super) fn check_devices(&self) -> Step<Vec<DeviceConfig>> {
        let mut out: Vec<DeviceConfig> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        // QemuOpts devices first, then JSON ones (qemu_create_cli_devices()).
        for json in [false, true] {
            for d in self.devices.iter().filter(|d| d.json == json) {
                let Some(driver) = d.driver.clone() else {
                    return Err(at(
                        &d.location,
                        ErrorKind::ParameterMissing {
                            name: "driver".into(),
                        },
                    ));
                };
                if let Some(id) = &d.id {
                    if json && ids.contains(id) {
                        return Err(at(
                            &d.location,
                            ErrorKind::DuplicateDeviceId { id: id.clone() },
                        ));
                    }
                    if json && !qemuopts::id_wellformed(id) {
                        return Err(at(&d.location, ErrorKind::IdExpected));
                    }
                    ids.push(id.clone());
                }
                out.push(DeviceConfig {
                    driver,
                    id: d.id.clone(),
                    props: d.props.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// A JSON value as JSON text (a non-scalar `-device` property).
fn json_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(json_text).collect::<Vec<_>>().join(",")
        ),
        Value::Dict(d) => format!(
            "{{{}}}",
            d.iter()
                .map(|(k, v)| format!("{k:?}:{}", json_text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.scalar_text().unwrap_or_default(),
    }
}
