//! Errors of the schema generator.  A build fails with one of these,
//! pointing at the schema file and line at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {msg}")]
    Schema {
        file: String,
        line: usize,
        msg: String,
    },
}

/// Where a definition came from, for error messages.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl Origin {
    pub fn error(&self, msg: impl Into<String>) -> GenError {
        GenError::Schema {
            file: self.file.clone(),
            line: self.line,
            msg: msg.into(),
        }
    }
}
