//! QEMU's `pretty=on` layout, made from the compact form: the compact writer's output has
//! no whitespace outside strings but `", "` and `": "`, so re-indenting it needs no parse
//! and cannot change member order (re-parsing would: QDict order is not idempotent).

/// Appends `compact` laid out as QEMU's pretty JSON writer lays it out: a line break and
/// four spaces per level after every `{`, `[` and `,` and before every `}`, `]` (empty
/// containers too), with `\r\n` line breaks as the monitor sends them. No final line end.
pub(crate) fn pretty_into(compact: &str, out: &mut Vec<u8>) {
    let bytes = compact.as_bytes();
    let mut depth = 0usize;
    let mut run = 0; // start of the bytes not yet copied
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i + 1),
            open @ (b'{' | b'[') => {
                out.extend_from_slice(&bytes[run..=i]);
                let close = if open == b'{' { b'}' } else { b']' };
                if bytes.get(i + 1) == Some(&close) {
                    newline(out, depth);
                    out.push(close);
                    i += 2;
                } else {
                    depth += 1;
                    newline(out, depth);
                    i += 1;
                }
                run = i;
            }
            close @ (b'}' | b']') => {
                out.extend_from_slice(&bytes[run..i]);
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(close);
                i += 1;
                run = i;
            }
            b',' => {
                out.extend_from_slice(&bytes[run..=i]);
                newline(out, depth);
                i += 1;
                if bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
                run = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

/// The index after the closing quote of the string whose contents start at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.extend_from_slice(b"\r\n");
    out.resize(out.len() + 4 * depth, b' ');
}
