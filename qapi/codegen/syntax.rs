//! Reader for the QAPI schema language: a sequence of JSON-like
//! objects with single-quoted strings, `true`/`false`, `#` comments,
//! and `##`-delimited documentation blocks that belong to the
//! definition after them.

use super::error::{GenError, Origin};

/// A value in a schema expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Str(String),
    Bool(bool),
    List(Vec<Expr>),
    /// Keys keep their order: member order is meaningful.
    Dict(Vec<(String, Expr)>),
}

/// One top-level expression with its documentation block, if any.
#[derive(Debug)]
pub struct TopExpr {
    pub origin: Origin,
    pub dict: Vec<(String, Expr)>,
    /// The lines of the `##` block before it, without the `# ` prefix.
    pub doc: Option<Vec<String>>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Punct(char),
    Str(String),
    Word(String),
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    file: &'a str,
    /// Lines of a doc block being read.
    doc_open: Option<Vec<String>>,
    /// The last closed doc block that names a definition.
    doc_pending: Option<Vec<String>>,
}

impl<'a> Lexer<'a> {
    fn err(&self, msg: impl Into<String>) -> GenError {
        GenError::Schema {
            file: self.file.to_string(),
            line: self.line,
            msg: msg.into(),
        }
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.src.as_bytes()[self.pos - 1] == b'\n'
    }

    fn rest_of_line(&mut self) -> &'a str {
        let rest = &self.src[self.pos..];
        let end = rest.find('\n').unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    /// A `#` line: either an ordinary comment or part of a doc block.
    fn comment(&mut self) -> Result<(), GenError> {
        let first_col = self.at_line_start();
        let text = self.rest_of_line().trim_end();
        if !first_col {
            return Ok(());
        }
        if text == "##" {
            match self.doc_open.take() {
                None => self.doc_open = Some(Vec::new()),
                Some(lines) => {
                    // Only blocks that start with "@Name:" document a
                    // definition; others are free-form section text.
                    if lines.first().is_some_and(|l| l.starts_with('@')) {
                        if self.doc_pending.is_some() {
                            return Err(self.err("two doc blocks for one definition"));
                        }
                        self.doc_pending = Some(lines);
                    }
                }
            }
        } else if let Some(lines) = self.doc_open.as_mut() {
            let body = text.strip_prefix('#').unwrap_or(text);
            lines.push(body.strip_prefix(' ').unwrap_or(body).to_string());
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Option<Tok>, GenError> {
        loop {
            let Some(c) = self.src[self.pos..].chars().next() else {
                if self.doc_open.is_some() {
                    return Err(self.err("unterminated doc block"));
                }
                return Ok(None);
            };
            match c {
                '\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                ' ' | '\t' | '\r' => self.pos += 1,
                '#' => self.comment()?,
                _ if self.doc_open.is_some() => {
                    return Err(self.err("doc block must end with '##' before code"));
                }
                '{' | '}' | '[' | ']' | ':' | ',' => {
                    self.pos += 1;
                    return Ok(Some(Tok::Punct(c)));
                }
                '\'' => return self.string().map(Some),
                c if c.is_ascii_alphabetic() => {
                    let rest = &self.src[self.pos..];
                    let end = rest
                        .find(|c: char| !c.is_ascii_alphanumeric())
                        .unwrap_or(rest.len());
                    self.pos += end;
                    return Ok(Some(Tok::Word(rest[..end].to_string())));
                }
                other => return Err(self.err(format!("stray character {other:?}"))),
            }
        }
    }

    fn string(&mut self) -> Result<Tok, GenError> {
        let body = &self.src[self.pos + 1..];
        for (i, c) in body.char_indices() {
            match c {
                '\'' => {
                    self.pos += 1 + i + 1;
                    return Ok(Tok::Str(body[..i].to_string()));
                }
                // QAPI names never need escapes; refusing them keeps
                // the reader simple and the schema greppable.
                '\\' => return Err(self.err("backslash escapes are not supported")),
                '\n' => return Err(self.err("unterminated string")),
                _ => {}
            }
        }
        Err(self.err("unterminated string"))
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Tok>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<Option<&Tok>, GenError> {
        if self.peeked.is_none() {
            self.peeked = self.lex.next()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn take(&mut self) -> Result<Option<Tok>, GenError> {
        self.peek()?;
        Ok(self.peeked.take())
    }

    fn expect(&mut self, want: char) -> Result<(), GenError> {
        match self.take()? {
            Some(Tok::Punct(c)) if c == want => Ok(()),
            other => Err(self.lex.err(format!("expected '{want}', found {other:?}"))),
        }
    }

    fn value(&mut self) -> Result<Expr, GenError> {
        match self.take()? {
            Some(Tok::Punct('{')) => self.dict_rest().map(Expr::Dict),
            Some(Tok::Punct('[')) => self.list_rest().map(Expr::List),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Word(w)) if w == "true" => Ok(Expr::Bool(true)),
            Some(Tok::Word(w)) if w == "false" => Ok(Expr::Bool(false)),
            other => Err(self.lex.err(format!("expected a value, found {other:?}"))),
        }
    }

    /// After '{': members up to the closing '}'.
    fn dict_rest(&mut self) -> Result<Vec<(String, Expr)>, GenError> {
        let mut out: Vec<(String, Expr)> = Vec::new();
        if self.peek()? == Some(&Tok::Punct('}')) {
            self.take()?;
            return Ok(out);
        }
        loop {
            let key = match self.take()? {
                Some(Tok::Str(s)) => s,
                other => return Err(self.lex.err(format!("expected a key, found {other:?}"))),
            };
            if out.iter().any(|(k, _)| *k == key) {
                return Err(self.lex.err(format!("duplicate key '{key}'")));
            }
            self.expect(':')?;
            let value = self.value()?;
            out.push((key, value));
            match self.take()? {
                Some(Tok::Punct(',')) => {}
                Some(Tok::Punct('}')) => return Ok(out),
                other => {
                    return Err(self
                        .lex
                        .err(format!("expected ',' or '}}', found {other:?}")))
                }
            }
        }
    }

    /// After '[': elements up to the closing ']'.
    fn list_rest(&mut self) -> Result<Vec<Expr>, GenError> {
        let mut out = Vec::new();
        if self.peek()? == Some(&Tok::Punct(']')) {
            self.take()?;
            return Ok(out);
        }
        loop {
            out.push(self.value()?);
            match self.take()? {
                Some(Tok::Punct(',')) => {}
                Some(Tok::Punct(']')) => return Ok(out),
                other => {
                    return Err(self
                        .lex
                        .err(format!("expected ',' or ']', found {other:?}")))
                }
            }
        }
    }
}

/// Parse one schema file's text.  `file` names it in errors.
pub fn parse(src: &str, file: &str) -> Result<Vec<TopExpr>, GenError> {
    let mut p = Parser {
        lex: Lexer {
            src,
            pos: 0,
            line: 1,
            file,
            doc_open: None,
            doc_pending: None,
        },
        peeked: None,
    };
    let mut out = Vec::new();
    while p.peek()?.is_some() {
        let line = p.lex.line;
        p.expect('{')?;
        // The doc block was complete before the '{' was read.
        let doc = p.lex.doc_pending.take();
        let dict = p.dict_rest()?;
        out.push(TopExpr {
            origin: Origin {
                file: file.to_string(),
                line,
            },
            dict,
            doc,
        });
    }
    if p.lex.doc_pending.is_some() {
        return Err(p.lex.err("doc block documents nothing"));
    }
    Ok(out)
}
