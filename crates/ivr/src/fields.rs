//! Typed reading of one TOML table: each field taken by name, wrong types and missing required
//! keys reported at the key, and whatever was not taken reported as unknown.
//!
//! Hand-written rather than serde: a node's keys depend on its `action`, and serde stops at the
//! first error while `hotline check` must list them all.

use std::ops::RangeInclusive;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::Diagnostics;
use crate::error::Problem;
use crate::key_path::KeyPath;

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// A string from the file with the path it was found at, for reporting problems with it later.
#[derive(Debug, Clone)]
pub(crate) struct Str {
    pub(crate) value: String,
    pub(crate) path: KeyPath,
}

/// Where errors about a key point: a `[header]` table at its header (the value's span starts at
/// the `[` before the key), anything else at the key, i.e. where `key = value` starts.
fn place_of(key: &Spanned<std::borrow::Cow<'_, str>>, value: &Value<'_>) -> usize {
    let (key, value) = (key.span().start, value.span().start);
    if value < key { value } else { key }
}

pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    value.type_str()
}

pub(crate) struct Fields<'t, 'i> {
    path: KeyPath,
    table: &'t DeTable<'i>,
    taken: Vec<&'t str>,
}

impl<'t, 'i> Fields<'t, 'i> {
    /// Reads `table` found at `path`, recording where each of its keys is.
    pub(crate) fn new(d: &mut Diagnostics, path: KeyPath, table: &'t DeTable<'i>) -> Self {
        for (key, value) in table.iter() {
            d.place(path.key(key.get_ref()), place_of(key, value));
        }
        Self {
            path,
            table,
            taken: Vec::new(),
        }
    }

    pub(crate) fn path(&self) -> &KeyPath {
        &self.path
    }

    /// Every entry, for tables whose keys are names (`[node.*]`, `[schedule.*]`, `options`).
    /// Entries read this way are not reported as unknown.
    pub(crate) fn entries(&mut self) -> Vec<(&'t str, &'t Value<'i>)> {
        let all: Vec<(&'t str, &'t Value<'i>)> = self
            .table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), v))
            .collect();
        self.taken.extend(all.iter().map(|(k, _)| *k));
        all
    }

    /// The value at `key` without taking it.
    pub(crate) fn peek(&self, key: &str) -> Option<&'t Value<'i>> {
        self.table.get(key)
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<&'t Value<'i>> {
        let (k, v) = self.table.get_key_value(key)?;
        self.taken.push(k.get_ref().as_ref());
        Some(v)
    }

    pub(crate) fn string(&mut self, d: &mut Diagnostics, key: &str) -> Option<Str> {
        let value = self.take(key)?;
        let path = self.path.key(key);
        match value.get_ref() {
            DeValue::String(s) => Some(Str {
                value: s.to_string(),
                path,
            }),
            other => {
                d.invalid(&path, wrong_type("a string", other));
                None
            }
        }
    }

    /// A string that must be there and not be empty.
    pub(crate) fn required_string(&mut self, d: &mut Diagnostics, key: &str) -> Option<Str> {
        let present = self.table.contains_key(key);
        let s = self.string(d, key);
        if !present {
            d.invalid(&self.path.key(key), Problem::Missing);
        }
        match s {
            Some(s) if s.value.is_empty() => {
                d.invalid(&s.path, Problem::Empty);
                None
            }
            s => s,
        }
    }

    pub(crate) fn boolean(&mut self, d: &mut Diagnostics, key: &str, default: bool) -> bool {
        let Some(value) = self.take(key) else {
            return default;
        };
        match value.get_ref() {
            DeValue::Boolean(b) => *b,
            other => {
                d.invalid(&self.path.key(key), wrong_type("a boolean", other));
                default
            }
        }
    }

    /// An integer within `range`; `None` when absent or bad (the problem is reported).
    pub(crate) fn integer(
        &mut self,
        d: &mut Diagnostics,
        key: &str,
        range: RangeInclusive<u32>,
    ) -> Option<u32> {
        let value = self.take(key)?;
        let path = self.path.key(key);
        let DeValue::Integer(i) = value.get_ref() else {
            d.invalid(&path, wrong_type("an integer", value.get_ref()));
            return None;
        };
        let digits = i.as_str().replace('_', "");
        // Too large for i64 is certainly outside every range used here.
        let n = i64::from_str_radix(&digits, i.radix()).unwrap_or(i64::MAX);
        match u32::try_from(n) {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                d.invalid(
                    &path,
                    Problem::OutOfRange {
                        value: n,
                        min: *range.start(),
                        max: *range.end(),
                    },
                );
                None
            }
        }
    }

    /// An array of strings; each element's position is recorded as `key[i]`. Elements of the
    /// wrong type are reported and left out.
    pub(crate) fn strings(&mut self, d: &mut Diagnostics, key: &str) -> Option<Vec<Str>> {
        let value = self.take(key)?;
        let path = self.path.key(key);
        let DeValue::Array(items) = value.get_ref() else {
            d.invalid(&path, wrong_type("an array of strings", value.get_ref()));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            d.place(item_path.clone(), item.span().start);
            match item.get_ref() {
                DeValue::String(s) => out.push(Str {
                    value: s.to_string(),
                    path: item_path,
                }),
                other => d.invalid(&item_path, wrong_type("a string", other)),
            }
        }
        Some(out)
    }

    /// A sub-table, read in turn with [`Fields`].
    pub(crate) fn table(&mut self, d: &mut Diagnostics, key: &str) -> Option<Fields<'t, 'i>> {
        let value = self.take(key)?;
        let path = self.path.key(key);
        match value.get_ref() {
            DeValue::Table(t) => Some(Fields::new(d, path, t)),
            other => {
                d.invalid(&path, wrong_type("a table", other));
                None
            }
        }
    }

    /// Reports every key not taken; `expected` lists the keys this table may have.
    pub(crate) fn finish(self, d: &mut Diagnostics, expected: &[&str]) {
        for (key, _) in self.table.iter() {
            let key = key.get_ref().as_ref();
            if !self.taken.contains(&key) {
                d.invalid(
                    &self.path.key(key),
                    Problem::UnknownKey {
                        expected: expected.join(", "),
                    },
                );
            }
        }
    }
}

pub(crate) fn wrong_type(expected: &'static str, found: &DeValue<'_>) -> Problem {
    Problem::WrongType {
        expected,
        found: type_name(found),
    }
}
