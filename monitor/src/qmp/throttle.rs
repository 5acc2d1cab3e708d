//! QEMU's event rate limiting (`monitor_qapi_event_queue_no_reenter()` and its timer),
//! without I/O or clocks of its own: the caller passes the time in and arms a timer for
//! [`EventThrottle::next_deadline`].

use super::event::format_event_parts;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// QEMU's period for every throttled event.
pub const THROTTLE_PERIOD: Duration = Duration::from_millis(1000);

/// The throttled events, and the `data` member that tells instances apart (None: one
/// throttle per event type), from `monitor_qapi_event_conf` and
/// `qapi_event_throttle_hash()`.
const THROTTLED: &[(&str, Option<&str>)] = &[
    ("RTC_CHANGE", None),
    ("BLOCK_IO_ERROR", None),
    ("WATCHDOG", None),
    ("BALLOON_CHANGE", None),
    ("QUORUM_REPORT_BAD", Some("node-name")),
    ("QUORUM_FAILURE", None),
    ("VSERPORT_CHANGE", Some("id")),
    ("MEMORY_DEVICE_SIZE_CHANGE", Some("qom-path")),
    ("HV_BALLOON_STATUS_REPORT", None),
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    event: &'static str,
    instance: Option<String>,
}

#[derive(Debug)]
struct Window {
    /// The last event that came inside the window, formatted when it was created.
    stored: Option<String>,
    deadline: Instant,
    /// When the timer was (re)armed, in arming order: QEMU fires timers with equal
    /// deadlines in that order.
    armed: u64,
}

/// Rate limiter for all monitors (QEMU has one, global): the first event of a kind goes out
/// at once and opens a window; inside it only the newest event is kept, and it goes out
/// when the window ends, which opens the next one; a window that ends with nothing stored
/// is dropped.
#[derive(Debug)]
pub struct EventThrottle {
    period: Duration,
    windows: HashMap<Key, Window>,
    arming: u64,
}

impl Default for EventThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl EventThrottle {
    pub fn new() -> Self {
        Self::with_period(THROTTLE_PERIOD)
    }

    /// A throttle with another period (tests).
    pub fn with_period(period: Duration) -> Self {
        EventThrottle {
            period,
            windows: HashMap::new(),
            arming: 0,
        }
    }

    /// Offers `event`, created at `timestamp` (real-time clock) and `now` (monotonic).
    /// Returns the line to send at once, or None when it was stored for later.
    pub fn offer(
        &mut self,
        event: &qapi::Event,
        timestamp: SystemTime,
        now: Instant,
    ) -> Option<String> {
        self.offer_parts(event.name(), event.data().as_ref(), timestamp, now)
    }

    /// [`offer`](Self::offer) from a name and data, for events the schema does not have yet.
    pub fn offer_parts(
        &mut self,
        name: &str,
        data: Option<&Value>,
        timestamp: SystemTime,
        now: Instant,
    ) -> Option<String> {
        let line = format_event_parts(name, data, timestamp);
        let Some(key) = throttle_key(name, data) else {
            return Some(line);
        };
        if let Some(window) = self.windows.get_mut(&key) {
            window.stored = Some(line);
            return None;
        }
        self.arming += 1;
        let window = Window {
            stored: None,
            deadline: now + self.period,
            armed: self.arming,
        };
        self.windows.insert(key, window);
        Some(line)
    }

    /// When [`expire`](Self::expire) is next due, if a window is open.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.windows.values().map(|w| w.deadline).min()
    }

    /// Ends the windows due by `now`: returns their stored events in timer order, and
    /// re-opens those windows from `now` (QEMU re-arms from the time the timer ran).
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut due: Vec<(Instant, u64, Key)> = self
            .windows
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(key, w)| (w.deadline, w.armed, key.clone()))
            .collect();
        due.sort_unstable_by_key(|&(deadline, armed, _)| (deadline, armed));
        let mut lines = Vec::new();
        for (_, _, key) in due {
            let Some(window) = self.windows.get_mut(&key) else {
                continue;
            };
            match window.stored.take() {
                Some(line) => {
                    lines.push(line);
                    self.arming += 1;
                    window.deadline = now + self.period;
                    window.armed = self.arming;
                }
                None => {
                    self.windows.remove(&key);
                }
            }
        }
        lines
    }
}

/// The throttle an event belongs to, or None if it is not throttled. QEMU requires the
/// instance member; an event without it shares the event type's throttle.
fn throttle_key(name: &str, data: Option<&Value>) -> Option<Key> {
    let &(event, member) = THROTTLED.iter().find(|(event, _)| *event == name)?;
    let instance = member.and_then(|member| {
        data.and_then(|d| d.get(member))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    Some(Key { event, instance })
}
