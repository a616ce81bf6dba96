//! `${var}` templates in prompt names, destinations and values, parsed once at load.

use std::fmt;

use crate::vars::Vars;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A string with `${name}` placeholders. A `$` not followed by `{` is kept as it is, so SIP URIs
/// and prompt names need no escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TemplateError {
    Unterminated,
    EmptyName,
    BadName,
}

impl TemplateError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TemplateError::Unterminated => "`${` without a closing `}`",
            TemplateError::EmptyName => "`${}` names no variable",
            TemplateError::BadName => {
                "a variable name has only ASCII letters, digits, `_`, `-` and `.`"
            }
        }
    }
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(TemplateError::Unterminated)?;
            let name = &after[..end];
            if name.is_empty() {
                return Err(TemplateError::EmptyName);
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(TemplateError::BadName);
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template {
            text: text.to_owned(),
            parts,
        })
    }

    /// The empty template: a stand-in for one that failed to read.
    pub(crate) fn empty() -> Template {
        Template {
            text: String::new(),
            parts: Vec::new(),
        }
    }

    /// The text as written in the dialplan.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The variables named, in order, with repeats.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// The text with each `${name}` replaced by its value; a variable without a value expands to
    /// nothing (loading has already rejected names no call can have).
    pub fn expand(&self, vars: &Vars) -> String {
        let mut out = String::with_capacity(self.text.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => out.push_str(vars.get(name).unwrap_or("")),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
