//! The `when` of a branch node: a boolean variable or an equality test on one.

use crate::vars::Vars;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// `when = "line.retired"`: true when the variable is exactly `true`.
    IsTrue(String),
    /// `when = "line.mode == direct-merge"`.
    Equals(String, String),
    /// `when = "line.mode != hotline"`.
    NotEquals(String, String),
}

impl Condition {
    /// Parses `VAR`, `VAR == VALUE` or `VAR != VALUE`. VALUE is the rest of the text, trimmed;
    /// quotes around it are dropped, so `line.target == ""` tests for an empty variable.
    pub(crate) fn parse(text: &str) -> Option<Condition> {
        let var_ok = |v: &str| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        let split = [("==", true), ("!=", false)]
            .into_iter()
            .find_map(|(op, eq)| text.split_once(op).map(|(l, r)| (l, r, eq)));
        match split {
            None => {
                let var = text.trim();
                var_ok(var).then(|| Condition::IsTrue(var.to_owned()))
            }
            Some((left, right, eq)) => {
                let var = left.trim();
                let right = right.trim();
                if !var_ok(var) || right.is_empty() || right.contains("==") || right.contains("!=")
                {
                    return None;
                }
                let value = unquote(right).to_owned();
                Some(if eq {
                    Condition::Equals(var.to_owned(), value)
                } else {
                    Condition::NotEquals(var.to_owned(), value)
                })
            }
        }
    }

    pub fn variable(&self) -> &str {
        match self {
            Condition::IsTrue(v) | Condition::Equals(v, _) | Condition::NotEquals(v, _) => v,
        }
    }

    /// A variable without a value counts as empty.
    pub fn eval(&self, vars: &Vars) -> bool {
        let value = vars.get(self.variable()).unwrap_or("");
        match self {
            Condition::IsTrue(_) => value == "true",
            Condition::Equals(_, expected) => value == expected,
            Condition::NotEquals(_, expected) => value != expected,
        }
    }
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}
