//! Between the pure crate's versions and the store's rows.

use hotline_kb::{Entry, EntryKind, Validity, Version, VersionState, published};
use hotline_store::{KbEntryRow, KbVersionRow};

use crate::error::KbError;

pub(crate) fn state_name(s: VersionState) -> &'static str {
    match s {
        VersionState::Draft => "draft",
        VersionState::InReview => "in_review",
        VersionState::Rejected => "rejected",
        VersionState::Published => "published",
        VersionState::Superseded => "superseded",
        VersionState::Retired => "retired",
    }
}

fn parse_state(s: &str) -> Option<VersionState> {
    [
        VersionState::Draft,
        VersionState::InReview,
        VersionState::Rejected,
        VersionState::Published,
        VersionState::Superseded,
        VersionState::Retired,
    ]
    .into_iter()
    .find(|v| state_name(*v) == s)
}

pub(crate) fn version_row(id: &str, v: &Version) -> KbVersionRow {
    KbVersionRow {
        entry_id: id.to_string(),
        n: v.n,
        state: state_name(v.state).to_string(),
        kind: v.entry.kind.name().to_string(),
        category: v.entry.category.clone(),
        title: v.entry.title.clone(),
        body: v.entry.body.clone(),
        unit: v.entry.unit.clone(),
        keywords: v.entry.keywords.clone(),
        valid_from: v.entry.validity.from,
        valid_to: v.entry.validity.to,
        author: v.author.clone(),
        changed_at: v.changed_at,
        note: v.note.clone(),
    }
}

pub(crate) fn version(r: KbVersionRow) -> Result<Version, KbError> {
    let corrupt = |reason: String| KbError::Corrupt {
        id: r.entry_id.clone(),
        reason,
    };
    let state = parse_state(&r.state)
        .ok_or_else(|| corrupt(format!("version {} has state `{}`", r.n, r.state)))?;
    let kind = EntryKind::parse(&r.kind)
        .ok_or_else(|| corrupt(format!("version {} has kind `{}`", r.n, r.kind)))?;
    Ok(Version {
        n: r.n,
        entry: Entry {
            kind,
            category: r.category,
            title: r.title,
            body: r.body,
            unit: r.unit,
            keywords: r.keywords,
            validity: Validity {
                from: r.valid_from,
                to: r.valid_to,
            },
        },
        state,
        author: r.author,
        changed_at: r.changed_at,
        note: r.note,
    })
}

/// The listing's summary of an entry: its newest version, and the one in force.
pub(crate) fn entry_row(id: &str, versions: &[Version]) -> Option<KbEntryRow> {
    let last = versions.last()?;
    let first = versions.first()?;
    Some(KbEntryRow {
        id: id.to_string(),
        unit: last.entry.unit.clone(),
        rev: 0, // set by the store
        state: state_name(last.state).to_string(),
        published: published(versions).map(|v| v.n),
        kind: last.entry.kind.name().to_string(),
        category: last.entry.category.clone(),
        title: last.entry.title.clone(),
        hits: 0, // kept by the store's links
        created_at: first.changed_at,
        updated_at: last.changed_at,
    })
}
