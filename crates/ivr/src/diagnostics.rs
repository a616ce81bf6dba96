//! The problems found in one dialplan file, each kept with its byte offset so they come out in
//! source order, and the offsets of every key seen, so later checks can point at a key by path.

use std::collections::HashMap;

use crate::error::{DialplanError, Problem};
use crate::key_path::KeyPath;
use crate::location::Location;

pub(crate) struct Diagnostics {
    source: String,
    text: String,
    errors: Vec<(usize, DialplanError)>,
    places: HashMap<KeyPath, usize>,
}

impl Diagnostics {
    pub(crate) fn new(source: &str, text: &str) -> Self {
        Self {
            source: source.to_owned(),
            text: text.to_owned(),
            errors: Vec::new(),
            places: HashMap::new(),
        }
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn locate(&self, offset: usize) -> Location {
        Location::of(&self.source, &self.text, offset)
    }

    pub(crate) fn place(&mut self, key: KeyPath, offset: usize) {
        self.places.insert(key, offset);
    }

    /// Where `key` is, or for a key the file does not have (a missing one) where its nearest
    /// ancestor is: the table a missing key belongs in.
    pub(crate) fn offset_of(&self, key: &KeyPath) -> usize {
        let mut path = key.clone();
        loop {
            if let Some(&at) = self.places.get(&path) {
                return at;
            }
            if path.is_root() {
                return 0;
            }
            path = path.parent();
        }
    }

    pub(crate) fn location_of(&self, key: &KeyPath) -> Location {
        self.locate(self.offset_of(key))
    }

    pub(crate) fn syntax(&mut self, offset: usize, message: String) {
        let at = self.locate(offset);
        self.errors
            .push((offset, DialplanError::Syntax { at, message }));
    }

    /// Reports `problem` at `key`, located as [`Self::offset_of`] says.
    pub(crate) fn invalid(&mut self, key: &KeyPath, problem: Problem) {
        let offset = self.offset_of(key);
        let at = self.locate(offset);
        self.errors.push((
            offset,
            DialplanError::Invalid {
                at,
                key: key.to_string(),
                problem,
            },
        ));
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors in source order; a stable sort keeps several problems at one key in the order
    /// the checks found them.
    pub(crate) fn into_errors(mut self) -> Vec<DialplanError> {
        self.errors.sort_by_key(|(offset, _)| *offset);
        self.errors.into_iter().map(|(_, e)| e).collect()
    }
}
