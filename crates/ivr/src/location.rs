//! Where something is in a dialplan file, as an editor shows it.

use std::fmt;

/// A position in a dialplan source: a file path, or the name a test gave its text. Line and column
/// count from 1; the column counts characters, not bytes, so it matches what an editor shows on
/// lines with Chinese comments or prompts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The position of byte `offset` of `text`. An offset past the end, or inside a character,
    /// is moved back to the nearest character boundary rather than failing: a slightly early
    /// column is still a useful pointer.
    pub(crate) fn of(source: &str, text: &str, offset: usize) -> Location {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            source: source.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}
