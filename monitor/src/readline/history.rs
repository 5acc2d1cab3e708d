//! QEMU's readline history: 64 entries, oldest first, a re-entered line moves to the end, and
//! a cursor for up/down that survives empty lines.

/// QEMU's `READLINE_MAX_CMDS`.
pub const MAX_HISTORY: usize = 64;

#[derive(Default, Debug, Clone)]
pub(crate) struct History {
    /// The entries as typed (QEMU keeps bytes, so recall is exact even for non-UTF-8 input).
    raw: Vec<Vec<u8>>,
    /// The same entries as text, for `history()` and `info history`.
    text: Vec<String>,
    /// QEMU's `hist_entry`: the entry up/down last recalled, `None` for -1.
    entry: Option<usize>,
}

impl History {
    pub(crate) fn entries(&self) -> &[String] {
        &self.text
    }

    pub(crate) fn raw_entries(&self) -> &[Vec<u8>] {
        &self.raw
    }

    /// `readline_hist_add`, including its quirks: empty lines are not recorded and leave the
    /// recall cursor where it was; a line already present moves to the end; and when the
    /// history is full and the line is its last entry nothing changes, not even the cursor.
    pub(crate) fn add(&mut self, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let found = match self.entry {
            Some(e) if self.raw.get(e).is_some_and(|h| h == line) => Some(e),
            _ => self.raw.iter().position(|h| h == line),
        };
        if let Some(idx) = found {
            if idx == MAX_HISTORY - 1 {
                return;
            }
            let raw = self.raw.remove(idx);
            let text = self.text.remove(idx);
            self.raw.push(raw);
            self.text.push(text);
        } else {
            if self.raw.len() == MAX_HISTORY {
                self.raw.remove(0);
                self.text.remove(0);
            }
            self.raw.push(line.to_vec());
            self.text.push(String::from_utf8_lossy(line).into_owned());
        }
        self.entry = None;
    }

    /// `readline_up_char`: the line to show, or `None` to leave the line alone.
    pub(crate) fn up(&mut self) -> Option<&[u8]> {
        let next = match self.entry {
            Some(0) => return None,
            Some(e) => e - 1,
            None if self.raw.is_empty() => return None,
            None => self.raw.len() - 1,
        };
        self.entry = Some(next);
        Some(&self.raw[next])
    }

    /// `readline_down_char`: the line to show (empty past the newest entry), or `None` when
    /// no entry is being recalled.
    pub(crate) fn down(&mut self) -> Option<&[u8]> {
        let e = self.entry?;
        if e < MAX_HISTORY - 1 && e + 1 < self.raw.len() {
            self.entry = Some(e + 1);
            Some(&self.raw[e + 1])
        } else {
            self.entry = None;
            Some(&[])
        }
    }
}
