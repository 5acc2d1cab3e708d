//! The readline against bytes recorded from QEMU 10.0.2, and the API around it.

use super::test_support::{connect, drive, fake_hmp, show, QemuLike};
use super::transcripts::{Transcript, CONNECT, RECONNECT, TRANSCRIPTS};
use super::*;

/// Replays a transcript; returns the first step that differs.
fn replay(t: &Transcript, mode: CharMode) -> Result<(), String> {
    let mut rl = Readline::with_mode(mode);
    let mut completer = QemuLike::default();
    for (i, &(chunk, expected)) in t.steps.iter().enumerate() {
        let got = if chunk == CONNECT || chunk == RECONNECT {
            connect(&mut rl)
        } else {
            drive(&mut rl, chunk, &mut completer, &mut fake_hmp)
        };
        if got != expected {
            return Err(format!(
                "{} step {i}: sent {}\n  qemu: {}\n  ours: {}",
                t.name,
                show(chunk),
                show(expected),
                show(&got)
            ));
        }
    }
    Ok(())
}

#[test]
fn readline_matches_every_qemu_transcript_in_byte_mode() {
    let failures: Vec<String> = TRANSCRIPTS
        .iter()
        .filter_map(|t| replay(t, CharMode::Bytes).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn readline_utf8_mode_matches_qemu_transcripts_without_utf8() {
    // Only `utf8_bytes` types multi-byte characters, which QEMU edits byte by byte. (The
    // 8-bit CSI byte 0x9b of other transcripts is a CSI in both modes.)
    let failures: Vec<String> = TRANSCRIPTS
        .iter()
        .filter(|t| t.name != "utf8_bytes")
        .filter_map(|t| replay(t, CharMode::Utf8).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn feed_all(rl: &mut Readline, bytes: &[u8]) -> Vec<u8> {
    drive(rl, bytes, &mut QemuLike::default(), &mut fake_hmp)
}

#[test]
fn readline_greeting_and_prompt() {
    let mut rl = Readline::new();
    let mut wire = GREETING.as_bytes().to_vec();
    wire.extend(rl.start(PROMPT));
    assert_eq!(
        wire,
        b"QEMU 10.0.2 monitor - type 'help' for more information\r\n(qemu) "
    );
    assert_eq!(rl.prompt(), "(qemu) ");
}

#[test]
fn readline_measured_single_keys() {
    // Single steps from the transcripts, spelled out.
    let mut rl = Readline::with_mode(CharMode::Bytes);
    rl.start(PROMPT);
    assert_eq!(feed_all(&mut rl, b"a"), b"a\x1b[K");
    assert_eq!(feed_all(&mut rl, b"b"), b"\x1b[Dab\x1b[K");
    assert_eq!(feed_all(&mut rl, b"\x1b[D"), b"\x1b[D");
    assert_eq!(feed_all(&mut rl, b"X"), b"\x1b[DaXb\x1b[K\x1b[D");
    assert_eq!(feed_all(&mut rl, b"\x1bOH"), b"\x1b[D\x1b[D");
    assert_eq!(feed_all(&mut rl, b"\x1b[4~"), b"\x1b[C\x1b[C\x1b[C");
    assert_eq!(feed_all(&mut rl, b"\x7f"), b"\x1b[D\x1b[D\x1b[DaX\x1b[K");
    assert_eq!(
        feed_all(&mut rl, b"\x0c"),
        b"\x1b[2J\x1b[1;1H(qemu) aX\x1b[K"
    );
    assert_eq!(
        feed_all(&mut rl, b"\r"),
        b"\r\nunknown command: 'aX'\r\n(qemu) "
    );
}

#[test]
fn readline_split_escape_sequences_and_utf8() {
    let whole = {
        let mut rl = Readline::new();
        rl.start(PROMPT);
        feed_all(&mut rl, "ab\x1b[D\x1b[3~é€\x1b[1~x\x1bOF".as_bytes())
    };
    let bytes = "ab\x1b[D\x1b[3~é€\x1b[1~x\x1bOF".as_bytes();
    for split in 0..bytes.len() {
        let mut rl = Readline::new();
        rl.start(PROMPT);
        let mut got = feed_all(&mut rl, &bytes[..split]);
        got.extend(feed_all(&mut rl, &bytes[split..]));
        assert_eq!(show(&got), show(&whole), "split at {split}");
        assert_eq!(rl.current_line(), "xaé€");
    }
    // One byte at a time.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    let mut got = Vec::new();
    for b in bytes {
        got.extend(feed_all(&mut rl, std::slice::from_ref(b)));
    }
    assert_eq!(show(&got), show(&whole));
}

#[test]
fn readline_utf8_mode_edits_characters() {
    let mut rl = Readline::new();
    rl.start(PROMPT);
    // The character is echoed once complete, as one column.
    assert_eq!(feed_all(&mut rl, b"\xc3"), b"");
    assert_eq!(feed_all(&mut rl, b"\xa9"), "é\x1b[K".as_bytes());
    assert_eq!(
        feed_all(&mut rl, "€".as_bytes()),
        "\x1b[Dé€\x1b[K".as_bytes()
    );
    assert_eq!(feed_all(&mut rl, b"\x1b[D"), b"\x1b[D");
    assert_eq!(feed_all(&mut rl, b"\x7f"), "\x1b[D€\x1b[K\x1b[D".as_bytes());
    assert_eq!(rl.cursor(), 0);
    assert_eq!(feed_all(&mut rl, b"\x1b[3~"), b"\x1b[K");
    // Malformed input becomes U+FFFD; C1 controls are dropped.
    feed_all(&mut rl, b"\xff\xe2\x82x\xc2\x9by");
    assert_eq!(rl.current_line(), "\u{fffd}\u{fffd}xy");
    // A character ending an escape sequence is swallowed whole.
    feed_all(&mut rl, "\x1bé!".as_bytes());
    assert_eq!(rl.current_line(), "\u{fffd}\u{fffd}xy!");
    let events = rl.feed(b"\r", &mut NoCompletion);
    assert_eq!(
        events.last(),
        Some(&ReadlineEvent::Line("\u{fffd}\u{fffd}xy!".into()))
    );
}

#[test]
fn readline_byte_mode_keeps_raw_bytes_in_history() {
    let mut rl = Readline::with_mode(CharMode::Bytes);
    rl.start(PROMPT);
    let mut wire = feed_all(&mut rl, b"j\xff\r");
    wire.extend(feed_all(&mut rl, b"\x1b[A"));
    assert!(wire.ends_with(b"(qemu) j\xff\x1b[K"), "{}", show(&wire));
    assert_eq!(rl.history(), ["j\u{fffd}"]);
}

#[test]
fn readline_line_ends_and_suspension() {
    let mut rl = Readline::new();
    rl.start(PROMPT);
    let events = rl.feed(b"ab\r\ncd", &mut NoCompletion);
    assert_eq!(
        events,
        [
            ReadlineEvent::Output(b"a\x1b[K\x1b[Dab\x1b[K\r\n".to_vec()),
            ReadlineEvent::Line("ab".into()),
        ]
    );
    assert!(!rl.wants_input());
    assert!(rl.has_pending_input());
    // Input while suspended is held.
    assert_eq!(rl.feed(b"e", &mut NoCompletion), []);
    assert_eq!(rl.prompt_after_command(), b"(qemu) ");
    assert!(rl.wants_input());
    let events = rl.feed(&[], &mut NoCompletion);
    assert_eq!(
        events,
        [
            ReadlineEvent::Output(b"\r\n".to_vec()),
            ReadlineEvent::Line(String::new()),
        ]
    );
    rl.prompt_after_command();
    let events = rl.feed(&[], &mut NoCompletion);
    assert_eq!(
        events,
        [ReadlineEvent::Output(
            b"c\x1b[K\x1b[Dcd\x1b[K\x1b[D\x1b[Dcde\x1b[K".to_vec()
        )]
    );
    assert!(!rl.has_pending_input());
    assert_eq!(rl.history(), ["ab"]);
}

#[test]
fn readline_info_history_format() {
    let mut rl = Readline::new();
    rl.start(PROMPT);
    feed_all(&mut rl, b"info status\rinfo balloon\r\r");
    assert_eq!(rl.format_history(), "0: 'info status'\n1: 'info balloon'\n");
    assert_eq!(
        crlf(&rl.format_history()),
        b"0: 'info status'\r\n1: 'info balloon'\r\n"
    );
}

#[test]
fn readline_history_is_capped() {
    let mut rl = Readline::new();
    rl.start(PROMPT);
    for i in 0..100 {
        feed_all(&mut rl, format!("c{i}\r").as_bytes());
    }
    assert_eq!(rl.history().len(), MAX_HISTORY);
    assert_eq!(rl.history()[0], "c36");
    assert_eq!(rl.history()[63], "c99");
}

#[test]
fn readline_line_length_is_capped() {
    let mut rl = Readline::with_mode(CharMode::Bytes);
    rl.start(PROMPT);
    let long = vec![b'a'; MAX_LINE + 10];
    rl.feed(&long, &mut NoCompletion);
    assert_eq!(rl.current_line().len(), MAX_LINE);
    let mut rl = Readline::new();
    rl.start(PROMPT);
    rl.feed("é".repeat(MAX_LINE).as_bytes(), &mut NoCompletion);
    assert_eq!(rl.current_line().len(), MAX_LINE - 1);
}

#[test]
fn readline_completion_one_and_many() {
    // `info bal` → the one candidate and a space.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    feed_all(&mut rl, b"info bal");
    assert_eq!(
        feed_all(&mut rl, b"\t"),
        b"\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[Dinfo balloon \x1b[K"
    );
    // `sto` → listed in columns of 10 or more, the prompt and the line again.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    feed_all(&mut rl, b"sto");
    assert_eq!(
        feed_all(&mut rl, b"\t"),
        b"\r\nstop         stopcapture  \r\n(qemu) stop\x1b[K"
    );
    // A candidate ending in `/` gets no space; the default completion index is the last word.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    feed_all(&mut rl, b"memsave 0 1 /tm");
    let mut files = |_: &str| vec!["/tmp/".to_string()];
    let events = rl.feed(b"\t", &mut files);
    assert_eq!(
        events,
        [ReadlineEvent::Output(
            b"\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[Dmemsave 0 1 /tmp/\x1b[K".to_vec()
        )]
    );
    // Duplicates count once; a listing wider than 80 columns has one per line.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    let long = "x".repeat(90);
    let mut dup = |_: &str| vec![long.clone(), "a".into(), long.clone()];
    let out: Vec<u8> = rl
        .feed(b"\t", &mut dup)
        .into_iter()
        .flat_map(|e| match e {
            ReadlineEvent::Output(b) => b,
            ReadlineEvent::Line(_) => panic!(),
        })
        .collect();
    let expected = format!("\r\na{}\r\n{long}\r\n(qemu) ", " ".repeat(79));
    assert_eq!(show(&out), show(expected.as_bytes()));
}

#[test]
fn readline_utf8_completion_pads_by_characters() {
    let mut rl = Readline::new();
    rl.start(PROMPT);
    let mut c = |_: &str| vec!["é1".to_string(), "é2".into()];
    let out: Vec<u8> = rl
        .feed(b"\t", &mut c)
        .into_iter()
        .flat_map(|e| match e {
            ReadlineEvent::Output(b) => b,
            ReadlineEvent::Line(_) => panic!(),
        })
        .collect();
    assert_eq!(
        show(&out),
        show("\r\né1        é2        \r\n(qemu) é\x1b[K".as_bytes())
    );
}

#[test]
fn readline_mux_focus() {
    // Measured with `-chardev stdio,mux=on` + `-mon`: Ctrl-A c out and in again gives
    // "\r\n(qemu) " and drops the line being typed.
    let mut rl = Readline::new();
    rl.start(PROMPT);
    feed_all(&mut rl, b"ab");
    let mut wire = rl.mux_out();
    wire.extend(rl.mux_in());
    assert_eq!(wire, b"\r\n(qemu) ");
    assert_eq!(feed_all(&mut rl, b"x"), b"x\x1b[K");
}

#[test]
fn readline_crlf_is_monitor_puts() {
    assert_eq!(crlf("a\nb\r\n"), b"a\r\nb\r\r\n");
    assert_eq!(crlf_bytes(b"\n\n"), b"\r\n\r\n");
}

#[test]
fn readline_default_completion_index_is_last_word() {
    assert_eq!(last_word_len("info bal"), 3);
    assert_eq!(last_word_len("info "), 0);
    assert_eq!(last_word_len("in"), 2);
    assert_eq!(last_word_len(""), 0);
    assert_eq!(last_word_len("a\tb"), 1);
}
