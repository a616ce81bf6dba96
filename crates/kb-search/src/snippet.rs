//! Highlighted snippets: the title whole, and the stretch of the body that holds the most of the
//! words the entry matched on, with byte ranges of every occurrence.

use std::ops::Range;

/// A piece of an entry's text and where in it the matched words are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges into `text`, on char boundaries, sorted and not overlapping.
    pub highlights: Vec<Range<usize>>,
}

impl Snippet {
    /// The text HTML-escaped, each highlight in `<mark>…</mark>`.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + self.highlights.len() * 13);
        let mut at = 0;
        for r in &self.highlights {
            // Ranges are made on char boundaries; `get` keeps a bad one from panicking.
            let (Some(before), Some(marked)) =
                (self.text.get(at..r.start), self.text.get(r.clone()))
            else {
                continue;
            };
            escape_into(&mut out, before);
            out.push_str("<mark>");
            escape_into(&mut out, marked);
            out.push_str("</mark>");
            at = r.end;
        }
        escape_into(&mut out, self.text.get(at..).unwrap_or(""));
        out
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Every occurrence of each term in `text` as (byte range, term index). Terms are normalized
/// (lower-case ASCII); ASCII lower-casing keeps byte offsets, so they index `text` itself.
fn occurrences(text: &str, terms: &[String]) -> Vec<(Range<usize>, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        if t.is_empty() {
            continue;
        }
        for (at, m) in lower.match_indices(t.as_str()) {
            out.push((at..at + m.len(), i));
        }
    }
    out.sort_by_key(|(r, _)| (r.start, r.end));
    out
}

/// Merges overlapping or touching ranges (search-mode terms overlap: 供暖 inside 供暖公司).
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Which of the terms occur in `text` at all.
pub(crate) fn present(text: &str, terms: &[String]) -> Vec<bool> {
    let lower = text.to_ascii_lowercase();
    terms
        .iter()
        .map(|t| !t.is_empty() && lower.contains(t.as_str()))
        .collect()
}

/// The whole text with every term highlighted (for titles, which are short).
pub(crate) fn whole(text: &str, terms: &[String]) -> Snippet {
    Snippet {
        text: text.to_string(),
        highlights: merge(
            occurrences(text, terms)
                .into_iter()
                .map(|(r, _)| r)
                .collect(),
        ),
    }
}

/// How far before the first word a window may start, to show what leads up to it.
const LEAD_CHARS: usize = 12;

/// At most `max_chars` characters of `text` around the place with the most distinct terms
/// (longer terms count more: they say more), with `…` where it was cut.
pub(crate) fn window(text: &str, terms: &[String], max_chars: usize) -> Snippet {
    let occ = occurrences(text, terms);
    // Byte offset of each char, plus the end, to move between chars and bytes.
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let n_chars = offsets.len() - 1;
    if n_chars <= max_chars {
        return whole(text, terms);
    }
    let char_of = |byte: usize| offsets.partition_point(|&o| o < byte);
    let mut best = (0usize, 0usize); // (weight, start char)
    for (r, _) in &occ {
        let first = char_of(r.start);
        // Start a little before the word, at a sentence break when there is one close by.
        let lead_from = first.saturating_sub(LEAD_CHARS);
        let start = (lead_from..first)
            .rev()
            .find(|&c| {
                text[offsets[c]..]
                    .chars()
                    .next()
                    .is_some_and(|ch| matches!(ch, '。' | '；' | '！' | '？' | '\n' | '.' | ';'))
            })
            .map(|c| c + 1)
            .unwrap_or(lead_from);
        let end_byte = offsets[(start + max_chars).min(n_chars)];
        let mut seen = vec![false; terms.len()];
        let mut weight = 0;
        for (r2, t) in occ.iter().filter(|(r2, _)| r2.start >= offsets[start]) {
            if r2.end > end_byte {
                break;
            }
            if !seen[*t] {
                seen[*t] = true;
                weight += terms[*t].chars().count();
            }
        }
        if weight > best.0 {
            best = (weight, start);
        }
    }
    let start_char = best.1;
    let end_char = (start_char + max_chars).min(n_chars);
    let (s, e) = (offsets[start_char], offsets[end_char]);
    let prefix = if s > 0 { "…" } else { "" };
    let suffix = if e < text.len() { "…" } else { "" };
    let shift = prefix.len();
    let highlights = merge(
        occ.into_iter()
            .filter(|(r, _)| r.start >= s && r.end <= e)
            .map(|(r, _)| r.start - s + shift..r.end - s + shift)
            .collect(),
    );
    Snippet {
        text: format!("{prefix}{}{suffix}", &text[s..e]),
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_around_the_words() {
        let body = format!("{}暖气不热请拨打12329。", "无关的话。".repeat(40));
        let s = window(&body, &["暖气".into(), "12329".into()], 30);
        assert!(s.text.starts_with('…'));
        let marked: Vec<&str> = s.highlights.iter().map(|r| &s.text[r.clone()]).collect();
        assert_eq!(marked, ["暖气", "12329"]);
    }

    #[test]
    fn overlapping_terms_merge() {
        let s = whole("供暖公司电话", &["供暖".into(), "供暖公司".into()]);
        assert_eq!(s.highlights, vec![0.."供暖公司".len()]);
    }
}
