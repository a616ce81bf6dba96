//! Export in the import's own formats, so an exported file imports again unchanged: CSV (RFC
//! 4180, with a header and a UTF-8 BOM so spreadsheet programs read the Chinese right) and
//! JSON (an array of objects with the import's keys).

use serde::Serialize;

use crate::entry::Entry;

const HEADER: &str = "kind,category,title,body,unit,keywords,valid_from,valid_to";

/// One field, quoted when it holds a comma, a quote or a line break (RFC 4180 §2.6–2.7).
fn field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The entries as CSV; keywords joined by `;` (a keyword holding `;`, `；` or `、` cannot be
/// told apart on import, and the import refuses none, so such a keyword is split then).
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(HEADER);
    out.push_str("\r\n");
    for e in entries {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let fields = [
            e.kind.chinese().to_string(),
            e.category.clone(),
            e.title.clone(),
            e.body.clone(),
            e.unit.clone(),
            e.keywords.join(";"),
            date(e.validity.from),
            date(e.validity.to),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}

#[derive(Serialize)]
struct Row<'a> {
    kind: &'static str,
    category: &'a str,
    title: &'a str,
    body: &'a str,
    unit: &'a str,
    keywords: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<String>,
}

/// The entries as a pretty-printed JSON array, kinds by their English names.
pub fn to_json(entries: &[Entry]) -> String {
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| Row {
            kind: e.kind.name(),
            category: &e.category,
            title: &e.title,
            body: &e.body,
            unit: &e.unit,
            keywords: &e.keywords,
            valid_from: e.validity.from.map(|d| d.to_string()),
            valid_to: e.validity.to.map(|d| d.to_string()),
        })
        .collect();
    // Serializing plain strings and slices cannot fail.
    serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
}
