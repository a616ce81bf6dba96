//! Batch import of entries from CSV or JSON: every row checked, every problem reported with its
//! row, field and reason, and nothing returned unless all rows are good, so a store that writes
//! the batch in one transaction never half-imports.
//!
//! CSV (RFC 4180: comma-separated, `"` quotes with `""` inside, quoted fields may hold commas and
//! line breaks; a UTF-8 BOM is skipped): a header row naming the columns `kind, category, title,
//! body, unit` and optionally `keywords` (separated by `;`, `；` or `、`), `valid_from`,
//! `valid_to` (YYYY-MM-DD), in any order. Row numbers count the header as row 1, as a
//! spreadsheet shows them. JSON: an array of objects with the same keys (`keywords` an array);
//! row numbers start at 1.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::entry::{Entry, EntryKind, Validity};
use crate::workflow::{Actor, may_edit};

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}: {}", self.row, self.field, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s), nothing imported: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ImportError(pub Vec<RowError>);

/// A row as read, before its checks: each field as text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRow {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub unit: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

const COLUMNS: [&str; 8] = [
    "kind",
    "category",
    "title",
    "body",
    "unit",
    "keywords",
    "valid_from",
    "valid_to",
];
const REQUIRED: [&str; 5] = ["kind", "category", "title", "body", "unit"];

/// Splits CSV text into records of fields, with the line each record starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, RowError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
                any = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(RowError {
            row: start,
            field: "-".into(),
            reason: "a quoted field is not closed".into(),
        });
    }
    if any {
        fields.push(field);
        out.push((start, fields));
    }
    // Blank lines are no rows.
    out.retain(|(_, f)| !(f.len() == 1 && f[0].trim().is_empty()));
    Ok(out)
}

/// Reads a CSV batch and checks every row.
pub fn parse_csv(text: &str) -> Result<Vec<Entry>, ImportError> {
    let (errors, raw) = csv_rows(text)?;
    finish(errors, raw, None)
}

/// Reads a JSON batch (an array of objects) and checks every row.
pub fn parse_json(text: &str) -> Result<Vec<Entry>, ImportError> {
    let (errors, raw) = json_rows(text)?;
    finish(errors, raw, None)
}

/// The two formats of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// Reads a batch `actor` imports: every row checked as by [`parse_csv`] / [`parse_json`], and
/// also whether the actor may write that row's unit (a unit's editor imports only its own
/// unit's entries, a reader none), so a refused row is named like any other bad row.
pub fn parse_for(actor: &Actor, format: Format, text: &str) -> Result<Vec<Entry>, ImportError> {
    let (errors, raw) = match format {
        Format::Csv => csv_rows(text)?,
        Format::Json => json_rows(text)?,
    };
    finish(errors, raw, Some(actor))
}

/// A batch as read: the format's own problems, and each row with its number.
type Rows = (Vec<RowError>, Vec<(usize, RawRow)>);

/// The rows of a CSV text, with the format's own problems.
fn csv_rows(text: &str) -> Result<Rows, ImportError> {
    let recs = records(text).map_err(|e| ImportError(vec![e]))?;
    let Some(((_, header), rows)) = recs.split_first() else {
        return Err(ImportError(vec![RowError {
            row: 1,
            field: "-".into(),
            reason: "the file is empty: it needs a header row".into(),
        }]));
    };
    let mut errors = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        match COLUMNS.iter().find(|c| **c == h) {
            Some(c) if at.contains_key(c) => errors.push(RowError {
                row: 1,
                field: h.into(),
                reason: "the column is named twice".into(),
            }),
            Some(c) => {
                at.insert(c, i);
            }
            None => errors.push(RowError {
                row: 1,
                field: h.into(),
                reason: format!("unknown column; known: {}", COLUMNS.join(", ")),
            }),
        }
    }
    for c in REQUIRED {
        if !at.contains_key(c) {
            errors.push(RowError {
                row: 1,
                field: c.into(),
                reason: "the column is missing".into(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(ImportError(errors));
    }
    let raw: Vec<(usize, RawRow)> = rows
        .iter()
        .map(|(line, f)| {
            let get = |c: &str| {
                at.get(c)
                    .and_then(|&i| f.get(i))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            if f.len() > header.len() {
                errors.push(RowError {
                    row: *line,
                    field: "-".into(),
                    reason: format!("{} fields, the header has {}", f.len(), header.len()),
                });
            }
            let keywords = get("keywords")
                .map(|k| {
                    k.split([';', '；', '、'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            (
                *line,
                RawRow {
                    kind: get("kind"),
                    category: get("category"),
                    title: get("title"),
                    body: get("body"),
                    unit: get("unit"),
                    keywords,
                    valid_from: get("valid_from"),
                    valid_to: get("valid_to"),
                },
            )
        })
        .collect();
    Ok((errors, raw))
}

/// The rows of a JSON text, with the format's own problems.
fn json_rows(text: &str) -> Result<Rows, ImportError> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        ImportError(vec![RowError {
            row: 0,
            field: "-".into(),
            reason: format!("not a JSON array of entries: {e}"),
        }])
    })?;
    let mut errors = Vec::new();
    let mut raw = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        match serde_json::from_value::<RawRow>(v) {
            Ok(r) => raw.push((i + 1, r)),
            Err(e) => errors.push(RowError {
                row: i + 1,
                field: "-".into(),
                reason: e.to_string(),
            }),
        }
    }
    Ok((errors, raw))
}

/// The rows' own checks after the format's (and the importer's right to each row's unit):
/// all the problems, by row, or the entries.
fn finish(
    mut errors: Vec<RowError>,
    raw: Vec<(usize, RawRow)>,
    actor: Option<&Actor>,
) -> Result<Vec<Entry>, ImportError> {
    if let Some(actor) = actor {
        for (row, r) in &raw {
            let unit = r.unit.as_deref().map(str::trim).unwrap_or_default();
            if unit.is_empty() {
                continue; // "is missing", said by validate_rows
            }
            if let Err(e) = may_edit(actor, unit) {
                errors.push(RowError {
                    row: *row,
                    field: "unit".into(),
                    reason: e.to_string(),
                });
            }
        }
    }
    match validate_rows(raw) {
        Ok(v) if errors.is_empty() => Ok(v),
        Ok(_) => {
            errors.sort_by_key(|e| e.row);
            Err(ImportError(errors))
        }
        Err(ImportError(mut e)) => {
            errors.append(&mut e);
            // Stable: a row's problems stay in the order they were found.
            errors.sort_by_key(|e| e.row);
            Err(ImportError(errors))
        }
    }
}

fn date(
    row: usize,
    field: &str,
    v: &Option<String>,
    errors: &mut Vec<RowError>,
) -> Option<NaiveDate> {
    let s = v.as_deref()?;
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(RowError {
                row,
                field: field.into(),
                reason: format!("`{s}` is not a date (YYYY-MM-DD)"),
            });
            None
        }
    }
}

/// Checks rows read by either format: required fields, the kind, dates, each entry's own
/// rules, and one title per unit within the batch.
pub fn validate_rows(rows: Vec<(usize, RawRow)>) -> Result<Vec<Entry>, ImportError> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    if rows.is_empty() {
        errors.push(RowError {
            row: 0,
            field: "-".into(),
            reason: "no entries".into(),
        });
    }
    for (row, r) in rows {
        let before = errors.len();
        let mut need = |field: &str, v: &Option<String>| -> String {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => s.to_string(),
                None => {
                    errors.push(RowError {
                        row,
                        field: field.into(),
                        reason: "is missing".into(),
                    });
                    String::new()
                }
            }
        };
        let kind_text = need("kind", &r.kind);
        let category = need("category", &r.category);
        let title = need("title", &r.title);
        let body = need("body", &r.body);
        let unit = need("unit", &r.unit);
        let kind = if kind_text.is_empty() {
            None
        } else {
            let k = EntryKind::parse(&kind_text);
            if k.is_none() {
                let known: Vec<_> = EntryKind::ALL.iter().map(|k| k.chinese()).collect();
                errors.push(RowError {
                    row,
                    field: "kind".into(),
                    reason: format!("`{kind_text}` is not one of {}", known.join(", ")),
                });
            }
            k
        };
        let validity = Validity {
            from: date(row, "valid_from", &r.valid_from, &mut errors),
            to: date(row, "valid_to", &r.valid_to, &mut errors),
        };
        if errors.len() > before {
            continue;
        }
        let Some(kind) = kind else { continue };
        let entry = Entry {
            kind,
            category,
            title,
            body,
            unit,
            keywords: r.keywords.iter().map(|k| k.trim().to_string()).collect(),
            validity,
        };
        for (field, reason) in entry.problems() {
            errors.push(RowError {
                row,
                field: field.into(),
                reason,
            });
        }
        let key = (entry.unit.clone(), entry.title.clone());
        if let Some(first) = seen.get(&key) {
            errors.push(RowError {
                row,
                field: "title".into(),
                reason: format!("the same title for {} as row {first}", entry.unit),
            });
        } else {
            seen.insert(key, row);
        }
        out.push(entry);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ImportError(errors))
    }
}
