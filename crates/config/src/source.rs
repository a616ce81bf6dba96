//! The texts a configuration is built from, laid out in one address space.
//!
//! Every source (embedded default, file, each environment variable) gets a
//! disjoint range of offsets, and the spans of its parsed tree are shifted
//! into that range. A span in a merged tree then says by itself which source
//! it came from, which is what lets an error name `env HOTLINE_SIP__UDP`
//! rather than a line of the file.

use crate::error::Location;

struct Source {
    name: String,
    text: String,
    base: usize,
}

#[derive(Default)]
pub(crate) struct Sources {
    sources: Vec<Source>,
    next_base: usize,
}

pub(crate) type SourceId = usize;

impl Sources {
    pub(crate) fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        let text = text.into();
        let base = self.next_base;
        // +1 keeps the end offset of one source from being the start of the
        // next, so an empty span at either end is unambiguous.
        self.next_base = base + text.len() + 1;
        self.sources.push(Source {
            name: name.into(),
            text,
            base,
        });
        self.sources.len() - 1
    }

    pub(crate) fn text(&self, id: SourceId) -> &str {
        self.sources.get(id).map_or("", |s| s.text.as_str())
    }

    pub(crate) fn base(&self, id: SourceId) -> usize {
        self.sources.get(id).map_or(0, |s| s.base)
    }

    /// Which source a global offset belongs to.
    pub(crate) fn source_of(&self, offset: usize) -> Option<SourceId> {
        self.sources
            .iter()
            .rposition(|s| s.base <= offset && offset <= s.base + s.text.len())
    }

    pub(crate) fn locate(&self, offset: usize) -> Location {
        let Some(id) = self.source_of(offset) else {
            return Location {
                source: String::from("<unknown>"),
                line: 1,
                column: 1,
            };
        };
        let source = &self.sources[id];
        let local = offset - source.base;
        let before = source.text.get(..local).unwrap_or(&source.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            source: source.name.clone(),
            line,
            column,
        }
    }
}
