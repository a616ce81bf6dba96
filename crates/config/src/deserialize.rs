//! Serde deserialization that reports every error, not just the first.
//!
//! Serde stops at the first error. To collect them all, each error is
//! recorded with its key path, the offending node is repaired (replaced by
//! the embedded default at the same path, or removed) and deserialization
//! runs again, until it succeeds or no repair is possible. Errors at or
//! below an already reported path are consequences of a repair and are not
//! reported twice.

use serde::de::DeserializeOwned;
use toml::de::DeTable;

use crate::tree::{self, KeyPath};

/// More repairs than this means something keeps failing in the same way;
/// the errors found so far are plenty for one round of fixing.
const MAX_ROUNDS: usize = 256;

pub(crate) struct Problem {
    pub(crate) path: KeyPath,
    pub(crate) message: String,
}

pub(crate) fn deserialize_all<'i, T: DeserializeOwned>(
    original: &DeTable<'i>,
    fallback: Option<&DeTable<'i>>,
) -> (Option<T>, Vec<Problem>) {
    let mut working = original.clone();
    let mut problems: Vec<Problem> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let de = toml::de::Deserializer::from(toml::Spanned::new(0..0, working.clone()));
        let error = match T::deserialize(de) {
            Ok(value) => return (Some(value), problems),
            Err(e) => e,
        };
        let message = error.message().to_owned();
        let found = error.span().and_then(|span| {
            // Paths are reported with the original indices; the working
            // tree may have lost array elements to earlier repairs.
            let reported = tree::find(original, &span);
            let repair = tree::find(&working, &span);
            repair.map(|r| (reported.unwrap_or_else(|| r.clone()), r))
        });
        let Some((reported, repair_at)) = found else {
            problems.push(Problem {
                path: KeyPath::root(),
                message,
            });
            return (None, problems);
        };
        let reported = match missing_field(&message) {
            Some(field) => reported.key(field),
            None => reported,
        };
        if !problems.iter().any(|p| reported.starts_with(&p.path)) {
            problems.push(Problem {
                path: reported,
                message,
            });
        }
        let default = fallback
            .and_then(|f| tree::get(f, &repair_at))
            .filter(|d| tree::get(&working, &repair_at).is_none_or(|w| w.span() != d.span()))
            .cloned();
        if repair_at.is_root() || !tree::replace(&mut working, &repair_at, default) {
            return (None, problems);
        }
    }
    (None, problems)
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}
