//! A line-mode HMP session on a socket: QEMU's greeting and `(qemu) ` prompt, one command per
//! line. (Line editing, history and completion belong to the readline layer.)

pub const PROMPT: &str = "(qemu) ";

pub fn greeting() -> String {
    format!("QEMU 10.0.2 monitor - type 'help' for more information\r\n{PROMPT}")
}

#[derive(Default)]
pub struct HmpLine {
    line: Vec<u8>,
    lines: std::collections::VecDeque<String>,
    pub output: Vec<u8>,
}

impl HmpLine {
    /// Takes input bytes, echoing them as QEMU's readline does; complete lines queue up.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                // Each of \r and \n ends a line: "\r\n" gives an extra empty command.
                b'\r' | b'\n' => {
                    self.output.extend_from_slice(b"\r\n");
                    let line = String::from_utf8_lossy(&self.line).into_owned();
                    self.line.clear();
                    self.lines.push_back(line);
                }
                0x7f | 0x08 if self.line.pop().is_some() => {
                    self.output.extend_from_slice(b"\x08 \x08");
                }
                b if b >= 0x20 => {
                    self.line.push(b);
                    self.output.push(b);
                }
                _ => {}
            }
        }
    }

    pub fn next_line(&mut self) -> Option<String> {
        self.lines.pop_front()
    }

    /// Writes a command's output (with QEMU's `\r\n` line ends) and the next prompt.
    pub fn respond(&mut self, text: &str) {
        for piece in text.split_inclusive('\n') {
            if let Some(body) = piece.strip_suffix('\n') {
                self.output
                    .extend_from_slice(body.trim_end_matches('\r').as_bytes());
                self.output.extend_from_slice(b"\r\n");
            } else {
                self.output.extend_from_slice(piece.as_bytes());
            }
        }
        self.output.extend_from_slice(PROMPT.as_bytes());
    }
}
