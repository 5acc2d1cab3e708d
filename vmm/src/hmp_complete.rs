//! Tab completion at the `(qemu)` prompt: command names, `info` subcommands, and command
//! names after `help`, from the HMP command table.

use hmp_commands::table::{self, Cmd, COMMANDS};

fn names(table: &'static [Cmd]) -> impl Iterator<Item = &'static str> {
    table.iter().flat_map(|c| c.name.split('|'))
}

/// Candidates (whole words) for the word being typed at the end of `line`.
pub fn complete(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let typing_new_word = line.is_empty() || line.ends_with(' ');
    let (context, partial) = match (words.len(), typing_new_word) {
        (0, _) => (None, ""),
        (1, false) => (None, words[0]),
        (1, true) => (Some(words[0]), ""),
        (2, false) => (Some(words[0]), words[1]),
        _ => return Vec::new(),
    };
    let table: &'static [Cmd] = match context.map(|word| table::find(COMMANDS, word)) {
        None => COMMANDS,
        // A command with subcommands (`info`) completes them; `help` (as QEMU special-cases
        // it by name) completes command names.
        Some(Some(cmd)) => match cmd.sub_table {
            Some(sub) => sub,
            None if cmd.name == "help|?" => COMMANDS,
            None => return Vec::new(),
        },
        Some(None) => return Vec::new(),
    };
    let mut found: Vec<String> = names(table)
        .filter(|n| n.starts_with(partial))
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_info_subcommands_and_commands() {
        assert_eq!(complete("info bal"), vec!["balloon".to_string()]);
        assert!(complete("sto").contains(&"stop".to_string()));
        assert!(complete("info ").len() > 10);
        assert!(complete("x /4xb 0").is_empty());
        // `i` is the I/O-port read, not an alias of `info`.
        assert!(complete("i bal").is_empty());
        assert!(complete("help sto").contains(&"stop".to_string()));
        assert!(complete("? sto").contains(&"stop".to_string()));
        assert!(complete("stop ").is_empty());
    }
}
