//! The JSON forms of `-object`, `-device`, `-blockdev`, `-audiodev` and `-display`, parsed as
//! QEMU's `qobject/json-lexer.c`, `json-streamer.c` and `json-parser.c` do: single-quoted strings
//! are accepted, keywords are lower-case words, and errors read "JSON parse error, ...".

use super::error::ErrorKind;
use super::value::Value;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    /// The raw token text including the quotes.
    Str(String),
    Integer(String),
    Float(String),
    Keyword(String),
}

/// Lexes `input`; the first lexical error ends lexing with the QEMU "stray" message.
fn lex(input: &str) -> Result<Vec<Token>, ErrorKind> {
    let b = input.as_bytes();
    let mut i = 0;
    let mut tokens = Vec::new();
    let stray = |text: &[u8]| ErrorKind::Json {
        message: format!("stray '{}'", String::from_utf8_lossy(text)),
        prefixed: true,
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'{' => {
                tokens.push(Token::LCurly);
                i += 1
            }
            b'}' => {
                tokens.push(Token::RCurly);
                i += 1
            }
            b'[' => {
                tokens.push(Token::LSquare);
                i += 1
            }
            b']' => {
                tokens.push(Token::RSquare);
                i += 1
            }
            b':' => {
                tokens.push(Token::Colon);
                i += 1
            }
            b',' => {
                tokens.push(Token::Comma);
                i += 1
            }
            b'"' | b'\'' => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => {
                            // Unterminated: the streamer reports premature EOI.
                            return Err(ErrorKind::Json {
                                message: "premature EOI".into(),
                                prefixed: true,
                            });
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            if i + 1 >= b.len() {
                                return Err(ErrorKind::Json {
                                    message: "premature EOI".into(),
                                    prefixed: true,
                                });
                            }
                            i += 2;
                        }
                        Some(_) => i += 1,
                    }
                }
                tokens.push(Token::Str(input[start..i].to_string()));
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                if c == b'-' {
                    i += 1;
                    if !b.get(i).is_some_and(|d| d.is_ascii_digit()) {
                        let end = (i + 1).min(b.len());
                        return Err(stray(&b[start..end]));
                    }
                }
                if b[i] == b'0' {
                    i += 1;
                } else {
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let mut float = false;
                if b.get(i) == Some(&b'.') {
                    i += 1;
                    if !b.get(i).is_some_and(|d| d.is_ascii_digit()) {
                        let end = (i + 1).min(b.len());
                        return Err(stray(&b[start..end]));
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    float = true;
                }
                if matches!(b.get(i), Some(b'e' | b'E')) {
                    i += 1;
                    if matches!(b.get(i), Some(b'+' | b'-')) {
                        i += 1;
                    }
                    if !b.get(i).is_some_and(|d| d.is_ascii_digit()) {
                        let end = (i + 1).min(b.len());
                        return Err(stray(&b[start..end]));
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    float = true;
                }
                let text = input[start..i].to_string();
                tokens.push(if float {
                    Token::Float(text)
                } else {
                    Token::Integer(text)
                });
            }
            b'a'..=b'z' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_lowercase() {
                    i += 1;
                }
                tokens.push(Token::Keyword(input[start..i].to_string()));
            }
            _ => {
                let len = input[i..].chars().next().map_or(1, char::len_utf8);
                return Err(stray(&b[i..i + len]));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn parse_error(message: impl Into<String>) -> ErrorKind {
    ErrorKind::Json {
        message: message.into(),
        prefixed: true,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn pop(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn value(&mut self) -> Result<Value, ErrorKind> {
        match self.peek() {
            None => Err(parse_error("premature EOI")),
            Some(Token::LCurly) => self.object(),
            Some(Token::LSquare) => self.array(),
            Some(Token::Str(_)) => {
                let Some(Token::Str(raw)) = self.pop() else {
                    unreachable!()
                };
                Ok(Value::Str(unescape(&raw)?))
            }
            Some(Token::Integer(_)) => {
                let Some(Token::Integer(text)) = self.pop() else {
                    unreachable!()
                };
                if let Ok(v) = text.parse::<i64>() {
                    Ok(Value::Int(v))
                } else if let Ok(v) = text.parse::<u64>() {
                    Ok(Value::UInt(v))
                } else {
                    Ok(Value::Float(text.parse::<f64>().unwrap_or(f64::INFINITY)))
                }
            }
            Some(Token::Float(_)) => {
                let Some(Token::Float(text)) = self.pop() else {
                    unreachable!()
                };
                Ok(Value::Float(text.parse::<f64>().unwrap_or(f64::INFINITY)))
            }
            Some(Token::Keyword(_)) => {
                let Some(Token::Keyword(k)) = self.pop() else {
                    unreachable!()
                };
                match k.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    _ => Err(parse_error(format!("invalid keyword '{k}'"))),
                }
            }
            Some(_) => Err(parse_error("expecting value")),
        }
    }

    fn pair(&mut self, dict: &mut Vec<(String, Value)>) -> Result<(), ErrorKind> {
        let key = match self.value()? {
            Value::Str(s) => s,
            _ => return Err(parse_error("key is not a string in object")),
        };
        match self.pop() {
            None => return Err(parse_error("premature EOI")),
            Some(Token::Colon) => {}
            Some(_) => return Err(parse_error("missing : in object pair")),
        }
        let value = self.value()?;
        if dict.iter().any(|(k, _)| *k == key) {
            return Err(parse_error("duplicate key"));
        }
        dict.push((key, value));
        Ok(())
    }

    fn object(&mut self) -> Result<Value, ErrorKind> {
        self.pop(); // '{'
        let mut dict = Vec::new();
        match self.peek() {
            None => return Err(parse_error("premature EOI")),
            Some(Token::RCurly) => {
                self.pop();
                return Ok(Value::Dict(dict));
            }
            Some(_) => {}
        }
        self.pair(&mut dict)?;
        loop {
            match self.pop() {
                None => return Err(parse_error("premature EOI")),
                Some(Token::RCurly) => return Ok(Value::Dict(dict)),
                Some(Token::Comma) => self.pair(&mut dict)?,
                Some(_) => return Err(parse_error("expected separator in dict")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, ErrorKind> {
        self.pop(); // '['
        let mut list = Vec::new();
        match self.peek() {
            None => return Err(parse_error("premature EOI")),
            Some(Token::RSquare) => {
                self.pop();
                return Ok(Value::List(list));
            }
            Some(_) => {}
        }
        list.push(self.value()?);
        loop {
            match self.pop() {
                None => return Err(parse_error("premature EOI")),
                Some(Token::RSquare) => return Ok(Value::List(list)),
                Some(Token::Comma) => list.push(self.value()?),
                Some(_) => return Err(parse_error("expected separator in list")),
            }
        }
    }
}

/// Decodes a quoted string token (`parse_string()`).
fn unescape(raw: &str) -> Result<String, ErrorKind> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    let invalid = || parse_error("invalid escape sequence in string");
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().ok_or_else(invalid)? {
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                if hex.len() != 4 {
                    return Err(invalid());
                }
                let cp = u32::from_str_radix(&hex, 16).map_err(|_| invalid())?;
                let cp = if (0xd800..0xdc00).contains(&cp) {
                    // A high surrogate must be followed by \uDC00..\uDFFF.
                    let rest: String = chars.by_ref().take(6).collect();
                    let low = rest
                        .strip_prefix("\\u")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .filter(|l| (0xdc00..0xe000).contains(l))
                        .ok_or_else(invalid)?;
                    0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    cp
                };
                if cp == 0 {
                    return Err(parse_error("\\u0000 is not supported"));
                }
                out.push(char::from_u32(cp).ok_or_else(invalid)?);
            }
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

/// `qobject_from_json()`: exactly one JSON value.
pub fn parse(input: &str) -> Result<Value, ErrorKind> {
    let tokens = lex(input)?;
    // The streamer splits the token stream into values at nesting depth 0.
    let mut depth: i64 = 0;
    let mut end_of_first = None;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::LCurly | Token::LSquare => depth += 1,
            Token::RCurly | Token::RSquare => depth -= 1,
            _ => {}
        }
        if depth <= 0 {
            end_of_first = Some(i + 1);
            break;
        }
    }
    let first_len = end_of_first.unwrap_or(tokens.len());
    if first_len == 0 {
        return Err(ErrorKind::Json {
            message: "Expecting a JSON value".into(),
            prefixed: false,
        });
    }
    let mut parser = Parser {
        tokens: tokens[..first_len].to_vec(),
        pos: 0,
    };
    let value = parser.value()?;
    if parser.pos < first_len {
        return Err(parse_error("expecting value"));
    }
    if first_len < tokens.len() {
        return Err(ErrorKind::Json {
            message: "Expecting at most one JSON value".into(),
            prefixed: false,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(
            parse(r#"{"a":1,"b":"x","c":true,'d':[null,-2,1.5],"e":18446744073709551615}"#)
                .unwrap(),
            Value::Dict(vec![
                ("a".into(), Value::Int(1)),
                ("b".into(), Value::Str("x".into())),
                ("c".into(), Value::Bool(true)),
                (
                    "d".into(),
                    Value::List(vec![Value::Null, Value::Int(-2), Value::Float(1.5)])
                ),
                ("e".into(), Value::UInt(u64::MAX)),
            ])
        );
        assert_eq!(
            parse(r#"{"s":"\u00e9\n\"x\""}"#).unwrap(),
            Value::Dict(vec![("s".into(), Value::Str("é\n\"x\"".into()))])
        );
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str)] = &[
            (r#"{"a":"b""#, "JSON parse error, premature EOI"),
            (r#"{"a":"b"} x"#, "Expecting at most one JSON value"),
            (r#"{"a":"b"} {}"#, "Expecting at most one JSON value"),
            ("{qom-type:1}", "JSON parse error, stray '-t'"),
            (r#"{"a":tru}"#, "JSON parse error, invalid keyword 'tru'"),
            (r#"{"a":"b",}"#, "JSON parse error, expecting value"),
            (r#"{"a" "b"}"#, "JSON parse error, missing : in object pair"),
            (
                r#"{"a":"b" "c":1}"#,
                "JSON parse error, expected separator in dict",
            ),
            (
                r#"{1:2}"#,
                "JSON parse error, key is not a string in object",
            ),
            (r#"{"a":1,"a":2}"#, "JSON parse error, duplicate key"),
            (
                r#"{"a":"\q"}"#,
                "JSON parse error, invalid escape sequence in string",
            ),
            ("{@}", "JSON parse error, stray '@'"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap_err().to_string(), *want, "{input}");
        }
    }
}
