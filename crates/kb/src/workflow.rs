//! An entry's versions and the review workflow: a unit drafts and submits, the center's
//! maintenance team approves or rejects, a published version stays in force until a newer one
//! is approved or it is retired. Every version is kept; a step that is not allowed is refused
//! with the reason and changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::entry::Entry;

/// Who acts on the knowledge base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "unit", rename_all = "snake_case")]
pub enum KbRole {
    /// The center's maintenance team: reviews, and may edit any entry.
    Maintainer,
    /// A unit's editor: drafts and retires its own unit's entries only.
    UnitEditor(String),
    /// Agents read; they do not edit.
    Reader,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub role: KbRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    Draft,
    InReview,
    /// Sent back by the reviewers; the unit edits and submits it again.
    Rejected,
    Published,
    /// A newer version was published over it.
    Superseded,
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1-based.
    pub n: u32,
    pub entry: Entry,
    pub state: VersionState,
    pub author: String,
    pub changed_at: DateTime<Utc>,
    /// The reviewer's (or retirer's) note.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// A new entry (no versions yet) or a new version of a published or retired one.
    Draft {
        entry: Entry,
    },
    /// Changes the open draft (or a rejected version) in place.
    Edit {
        entry: Entry,
    },
    Submit,
    Approve,
    Reject {
        reason: String,
    },
    Retire {
        reason: String,
    },
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Draft { .. } => "draft",
            Step::Edit { .. } => "edit",
            Step::Submit => "submit",
            Step::Approve => "approve",
            Step::Reject { .. } => "reject",
            Step::Retire { .. } => "retire",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error("`{step}` is not possible: {why}")]
    NotNow { step: &'static str, why: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("the entry is not valid: {}", .0.iter().map(|(f, r)| format!("{f} {r}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(&'static str, String)>),
}

/// The version open for editing (a draft or a rejected one), if any: it is always the last.
fn open(versions: &[Version]) -> Option<&Version> {
    versions
        .last()
        .filter(|v| matches!(v.state, VersionState::Draft | VersionState::Rejected))
}

/// The version in force, ignoring validity dates: the published one.
pub fn published(versions: &[Version]) -> Option<&Version> {
    versions
        .iter()
        .rev()
        .find(|v| v.state == VersionState::Published)
}

/// The version agents see on `day`: published and valid then.
pub fn live(versions: &[Version], day: NaiveDate) -> Option<&Version> {
    published(versions).filter(|v| v.entry.validity.covers(day))
}

/// The entry's unit: the one its versions were written for.
fn unit(versions: &[Version]) -> Option<&str> {
    versions.first().map(|v| v.entry.unit.as_str())
}

pub(crate) fn may_edit(actor: &Actor, unit: &str) -> Result<(), StepError> {
    match &actor.role {
        KbRole::Maintainer => Ok(()),
        KbRole::UnitEditor(u) if u == unit => Ok(()),
        KbRole::UnitEditor(u) => Err(StepError::Forbidden(format!(
            "an editor of {u} may not change the entries of {unit}"
        ))),
        KbRole::Reader => Err(StepError::Forbidden(
            "readers do not edit the knowledge base".into(),
        )),
    }
}

fn reviewer(actor: &Actor, step: &'static str) -> Result<(), StepError> {
    match actor.role {
        KbRole::Maintainer => Ok(()),
        _ => Err(StepError::Forbidden(format!(
            "only the center's maintenance team may `{step}`"
        ))),
    }
}

/// The versions after `step` by `actor` at `at`, or the reason it is refused (the input is
/// unchanged either way: the caller stores the result only on success).
pub fn apply(
    versions: &[Version],
    actor: &Actor,
    step: &Step,
    at: DateTime<Utc>,
) -> Result<Vec<Version>, StepError> {
    let name = step.name();
    let not_now = |why: &str| StepError::NotNow {
        step: name,
        why: why.to_string(),
    };
    let mut out = versions.to_vec();
    match step {
        Step::Draft { entry } | Step::Edit { entry } => {
            let problems = entry.problems();
            if !problems.is_empty() {
                return Err(StepError::Invalid(problems));
            }
            if let Some(u) = unit(versions)
                && entry.unit != u
            {
                return Err(StepError::Forbidden(format!(
                    "the entry belongs to {u}; a version cannot move it to {}",
                    entry.unit
                )));
            }
            may_edit(actor, &entry.unit)?;
            if matches!(step, Step::Draft { .. }) {
                if open(versions).is_some()
                    || versions
                        .last()
                        .is_some_and(|v| v.state == VersionState::InReview)
                {
                    return Err(not_now(
                        "a version is already open or in review: edit that one",
                    ));
                }
                out.push(Version {
                    n: versions.len() as u32 + 1,
                    entry: entry.clone(),
                    state: VersionState::Draft,
                    author: actor.id.clone(),
                    changed_at: at,
                    note: None,
                });
            } else {
                let Some(last) = open(versions) else {
                    return Err(not_now("there is no draft to edit: start a new version"));
                };
                let n = last.n;
                let v = &mut out[n as usize - 1];
                v.entry = entry.clone();
                v.state = VersionState::Draft;
                v.author = actor.id.clone();
                v.changed_at = at;
            }
        }
        Step::Submit => {
            let Some(u) = unit(versions) else {
                return Err(not_now("the entry has no version"));
            };
            may_edit(actor, u)?;
            let Some(last) = open(versions) else {
                return Err(not_now("there is no draft to submit"));
            };
            let n = last.n as usize;
            out[n - 1].state = VersionState::InReview;
            out[n - 1].changed_at = at;
        }
        Step::Approve | Step::Reject { .. } => {
            reviewer(actor, name)?;
            let Some(last) = versions
                .last()
                .filter(|v| v.state == VersionState::InReview)
            else {
                return Err(not_now("no version is in review"));
            };
            let n = last.n as usize;
            match step {
                Step::Approve => {
                    for v in out.iter_mut() {
                        if v.state == VersionState::Published {
                            v.state = VersionState::Superseded;
                        }
                    }
                    out[n - 1].state = VersionState::Published;
                    out[n - 1].note = None;
                }
                Step::Reject { reason } => {
                    if reason.trim().is_empty() {
                        return Err(not_now("a rejection says why"));
                    }
                    out[n - 1].state = VersionState::Rejected;
                    out[n - 1].note = Some(reason.clone());
                }
                _ => unreachable!("matched above"),
            }
            out[n - 1].changed_at = at;
        }
        Step::Retire { reason } => {
            let Some(u) = unit(versions) else {
                return Err(not_now("the entry has no version"));
            };
            may_edit(actor, u)?;
            if reason.trim().is_empty() {
                return Err(not_now("a retirement says why"));
            }
            let Some(p) = published(versions) else {
                return Err(not_now("nothing is published"));
            };
            let n = p.n as usize;
            out[n - 1].state = VersionState::Retired;
            out[n - 1].note = Some(reason.clone());
            out[n - 1].changed_at = at;
        }
    }
    Ok(out)
}
