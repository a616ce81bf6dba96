//! Which prompts exist: the caller's business (files on disk, a media server's list), asked
//! through a trait so validation needs neither.

use std::collections::{BTreeSet, HashSet};

pub trait PromptCatalog {
    /// Whether a prompt of this (expanded) name can be played.
    fn exists(&self, name: &str) -> bool;
}

impl PromptCatalog for BTreeSet<String> {
    fn exists(&self, name: &str) -> bool {
        self.contains(name)
    }
}

impl PromptCatalog for HashSet<String> {
    fn exists(&self, name: &str) -> bool {
        self.contains(name)
    }
}
