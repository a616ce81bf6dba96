//! Errors that name where the bad setting is: source, line, column and key.

use std::fmt;

/// A position in a configuration source. `source` is a file path, the name
/// of an embedded default (`<embedded config/hotline.toml>`) or
/// `env HOTLINE_...` for an environment override. Line and column count
/// from 1; the column counts characters, not bytes, so it matches what an
/// editor shows for lines with Chinese text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// One problem found while loading the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read at all.
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    /// The text is not TOML.
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    /// The TOML is well formed but a key or value is wrong.
    #[error("{at}: {key}: {message}")]
    Invalid {
        at: Location,
        key: String,
        message: String,
    },
}

/// Every problem found, in source order per file. Loading reports all of
/// them at once so an operator fixes a file in one round.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub(crate) fn new(errors: Vec<ConfigError>) -> Self {
        Self { errors }
    }

    pub fn as_slice(&self) -> &[ConfigError] {
        &self.errors
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The rendered errors, one string each, for tests and logs.
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
