//! `sendkey`'s key names: QEMU's `QKeyCode` values (facts from QEMU 10's schema) and numeric
//! key codes, checked as `hmp_sendkey` checks them.

/// `QKeyCode`, in QEMU 10's order.
pub const QKEY_CODES: &[&str] = &[
    "unmapped",
    "shift",
    "shift_r",
    "alt",
    "alt_r",
    "ctrl",
    "ctrl_r",
    "menu",
    "esc",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "0",
    "minus",
    "equal",
    "backspace",
    "tab",
    "q",
    "w",
    "e",
    "r",
    "t",
    "y",
    "u",
    "i",
    "o",
    "p",
    "bracket_left",
    "bracket_right",
    "ret",
    "a",
    "s",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "semicolon",
    "apostrophe",
    "grave_accent",
    "backslash",
    "z",
    "x",
    "c",
    "v",
    "b",
    "n",
    "m",
    "comma",
    "dot",
    "slash",
    "asterisk",
    "spc",
    "caps_lock",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "f10",
    "num_lock",
    "scroll_lock",
    "kp_divide",
    "kp_multiply",
    "kp_subtract",
    "kp_add",
    "kp_enter",
    "kp_decimal",
    "sysrq",
    "kp_0",
    "kp_1",
    "kp_2",
    "kp_3",
    "kp_4",
    "kp_5",
    "kp_6",
    "kp_7",
    "kp_8",
    "kp_9",
    "less",
    "f11",
    "f12",
    "print",
    "home",
    "pgup",
    "pgdn",
    "end",
    "left",
    "up",
    "down",
    "right",
    "insert",
    "delete",
    "stop",
    "again",
    "props",
    "undo",
    "front",
    "copy",
    "open",
    "paste",
    "find",
    "cut",
    "lf",
    "help",
    "meta_l",
    "meta_r",
    "compose",
    "pause",
    "ro",
    "hiragana",
    "henkan",
    "yen",
    "muhenkan",
    "katakanahiragana",
    "kp_comma",
    "kp_equals",
    "power",
    "sleep",
    "wake",
    "audionext",
    "audioprev",
    "audiostop",
    "audioplay",
    "audiomute",
    "volumeup",
    "volumedown",
    "mediaselect",
    "mail",
    "calculator",
    "computer",
    "ac_home",
    "ac_back",
    "ac_forward",
    "ac_refresh",
    "ac_bookmarks",
    "lang1",
    "lang2",
    "f13",
    "f14",
    "f15",
    "f16",
    "f17",
    "f18",
    "f19",
    "f20",
    "f21",
    "f22",
    "f23",
    "f24",
];

/// One key of a `sendkey` list: a `QKeyCode` name, `<` (the old spelling of `less`), or a
/// 32-bit number after `0x`.
fn is_key(key: &str) -> bool {
    if key == "<" || QKEY_CODES.contains(&key) {
        return true;
    }
    match key.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && u32::from_str_radix(hex, 16).is_ok(),
        None => false,
    }
}

/// The first key of `keys` (names joined by `-`) that is not one, as `sendkey` reports it.
pub fn first_invalid(keys: &str) -> Option<&str> {
    keys.split('-').find(|k| !is_key(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_qemu_checks_them() {
        assert_eq!(first_invalid("ctrl-alt-delete"), None);
        assert_eq!(first_invalid("0x1e"), None);
        assert_eq!(first_invalid("<"), None);
        assert_eq!(first_invalid("foo"), Some("foo"));
        assert_eq!(first_invalid("ctrl-foo"), Some("foo"));
        assert_eq!(first_invalid("A"), Some("A"));
        assert_eq!(first_invalid("0x"), Some("0x"));
        assert_eq!(first_invalid("0xzz"), Some("0xzz"));
        assert_eq!(first_invalid("0x1e1e1e1e1e"), Some("0x1e1e1e1e1e"));
        assert_eq!(first_invalid("a--b"), Some(""));
    }
}
