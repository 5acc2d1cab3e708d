//! Bounded random input: no panic, and after every chunk the terminal shows exactly the
//! prompt and the line with the cursor in place, using only the sequences QEMU uses.

use super::test_support::{drive, prompt_width, show, QemuLike, Rng, Terminal};
use super::*;

/// Byte strings worth more than their share of random picks.
const TOKENS: &[&[u8]] = &[
    b"\x1b[A",
    b"\x1b[B",
    b"\x1b[C",
    b"\x1b[D",
    b"\x1b[E",
    b"\x1b[F",
    b"\x1b[H",
    b"\x1b[1~",
    b"\x1b[3~",
    b"\x1b[4~",
    b"\x1bOH",
    b"\x1bOF",
    b"\x1b[",
    b"\x1bO",
    b"\x9b",
    b"\x1b",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x7f",
    b"\x08",
    b"\x01",
    b"\x04",
    b"\x05",
    b"\x0c",
    b"\x0e",
    b"\x10",
    b"\x15",
    b"\x17",
    b" ",
    b"info ",
    b"in",
    b"info b",
    b"nb",
    "é".as_bytes(),
    "€".as_bytes(),
    "𝄞".as_bytes(),
    b"\xc3",
    b"\xe2\x82",
    b"\xff",
    b"12",
    b";",
];

/// Completion candidates, some odd: empty, long, non-ASCII, sharing partial characters.
struct OddCompleter {
    rng: Rng,
    inner: QemuLike,
    odd: bool,
}

impl Completer for OddCompleter {
    fn complete(&mut self, line: &str) -> Vec<String> {
        self.odd = self.rng.below(3) == 0;
        if !self.odd {
            return self.inner.complete(line);
        }
        let pool = [
            "",
            "a",
            "ab",
            "abc/",
            "é",
            "è",
            "éa",
            "x y",
            "𝄞𝄞",
            "zzzzzzzzzzzz",
        ];
        let n = self.rng.below(4);
        let mut out: Vec<String> = (0..n).map(|_| self.rng.pick(&pool).to_string()).collect();
        if self.rng.below(10) == 0 {
            out.push("w".repeat(self.rng.below(120)));
        }
        out
    }

    fn completion_index(&mut self, line: &str) -> usize {
        if self.odd {
            self.rng.below(4)
        } else {
            self.inner.completion_index(line)
        }
    }
}

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let mut input = Vec::new();
    let len = rng.below(60);
    for _ in 0..len {
        if rng.below(3) == 0 {
            input.push(rng.next() as u8);
        } else if rng.below(2) == 0 {
            input.push(b'a' + rng.below(26) as u8);
        } else {
            input.extend_from_slice(rng.pick(TOKENS));
        }
    }
    input
}

fn fuzz(mode: CharMode, seed: u64, rounds: usize) {
    let utf8 = mode == CharMode::Utf8;
    let mut rng = Rng::new(seed);
    let mut completer = OddCompleter {
        rng: Rng::new(seed ^ 0x5555),
        inner: QemuLike::default(),
        odd: false,
    };
    let mut rl = Readline::with_mode(mode);
    let mut term = Terminal::new(utf8);
    term.write(&rl.start(PROMPT));
    let mut lines = 0;
    for round in 0..rounds {
        let input = random_input(&mut rng);
        // Split anywhere, including inside escape sequences and characters.
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let mut exec = |line: &str, rl: &Readline| {
                lines += 1;
                assert!(
                    !line.bytes().any(|b| b < 0x20),
                    "control byte in line {line:?}"
                );
                assert!(line.len() <= 3 * MAX_LINE);
                assert!(rl.history().len() <= MAX_HISTORY);
                if line.is_empty() {
                    Vec::new()
                } else {
                    crlf(&format!("ran {}\n", line.len()))
                }
            };
            let out = drive(&mut rl, chunk, &mut completer, &mut exec);
            if utf8 {
                assert!(
                    std::str::from_utf8(&out).is_ok(),
                    "round {round}: invalid UTF-8 {}",
                    show(&out)
                );
            }
            term.write(&out);
            let (row, col) = term.screen();
            let mut expected = PROMPT.as_bytes().to_vec();
            expected.extend(rl.current_line().as_bytes());
            if !utf8 {
                // Byte mode: compare bytes (the line may hold non-UTF-8 bytes).
                expected.truncate(PROMPT.len());
                expected.extend(rl.line.iter().flat_map(|u| u.as_bytes().to_vec()));
            }
            assert_eq!(
                show(&row),
                show(&expected),
                "round {round}: screen after {}",
                show(chunk)
            );
            assert_eq!(col, prompt_width() + rl.cursor(), "round {round}: cursor");
            assert!(rl.line_bytes <= MAX_LINE);
            assert!(rl.wants_input() && !rl.has_pending_input());
        }
    }
    assert!(
        lines > rounds / 4,
        "too few lines ({lines}) to exercise Enter"
    );
}

#[test]
fn readline_fuzz_byte_mode() {
    for seed in 1..=4 {
        fuzz(CharMode::Bytes, seed, 500);
    }
}

#[test]
fn readline_fuzz_utf8_mode() {
    for seed in 1..=4 {
        fuzz(CharMode::Utf8, seed, 500);
    }
}

#[test]
fn readline_fuzz_long_lines_and_history() {
    // A line past the 4095-byte limit (typed once: each key redraws the whole line), then
    // recalled and edited.
    for mode in [CharMode::Bytes, CharMode::Utf8] {
        let mut rl = Readline::with_mode(mode);
        rl.start(PROMPT);
        let mut input = "é".repeat(300).into_bytes();
        input.extend_from_slice(&[b'a'; 3600]);
        input.extend_from_slice(b"\r\x1b[A\x01\x1b[3~\x05\x17xy\r\x1b[A\x1b[A\r\x1b[A\x05\x15z\r");
        drive(&mut rl, &input, &mut NoCompletion, &mut |_, _| Vec::new());
        assert!(rl.line_bytes <= MAX_LINE);
        assert!(rl.history().iter().all(|h| h.len() <= MAX_LINE));
        assert_eq!(rl.history().len(), 3);
        assert_eq!(rl.history()[2], "z");
        assert_eq!(rl.history()[0], "xy");
        assert_eq!(rl.history()[1].len(), MAX_LINE);
    }
}
