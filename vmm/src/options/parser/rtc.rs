//! The real-time clock: `-rtc` (QemuOpts, merged) and its check in `configure_rtc()`.

use crate::options::error::ErrorKind;
use crate::options::qemuopts::{d, Opts, OptsList};

use super::option_syntax::{Store, S};
use super::report::{plain, Step};
use super::Parser;

static RTC_OPTS: OptsList = OptsList {
    name: "rtc",
    implied: None,
    merge: true,
    desc: Some(&[d("base", S), d("clock", S), d("driftfix", S)]),
};

impl Parser {
    /// `-rtc`.
    pub(super) fn rtc_option(&mut self, arg: &str, loc: &str) -> Step {
        self.qemuopts(&RTC_OPTS, Store::Rtc, arg, false, loc)
    }

    /// `configure_rtc()` on the merged `-rtc` options.
    pub(super) fn configure_rtc(&self) -> Step {
        if let Some(rtc) = self.rtc.merged() {
            check_rtc(rtc).map_err(plain)?;
        }
        Ok(())
    }
}

/// `configure_rtc()`.
fn check_rtc(opts: &Opts) -> Result<(), ErrorKind> {
    // TODO(config): the RTC base/clock/driftfix have no VmConfig field.
    if let Some(base) = opts.get("base") {
        if base != "utc" && base != "localtime" && !is_rtc_datetime(base) {
            return Err(ErrorKind::RtcDatetimeFormat);
        }
    }
    if let Some(clock) = opts.get("clock") {
        if !matches!(clock, "host" | "rt" | "vm") {
            return Err(ErrorKind::RtcOptionValue {
                value: clock.to_string(),
            });
        }
    }
    if let Some(d) = opts.get("driftfix") {
        if !matches!(d, "slew" | "none") {
            return Err(ErrorKind::RtcOptionValue {
                value: d.to_string(),
            });
        }
    }
    Ok(())
}

/// `%d-%d-%dT%d:%d:%d` or `%d-%d-%d` as `sscanf` reads them: a date is enough (the time and
/// anything after are optional for the second form).
fn is_rtc_datetime(s: &str) -> bool {
    fn number(s: &str) -> Option<&str> {
        let t = s.trim_start();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &digits[n..])
    }
    (|| {
        let r = number(s)?;
        let r = number(r.strip_prefix('-')?)?;
        number(r.strip_prefix('-')?)
    })()
    .is_some()
}
