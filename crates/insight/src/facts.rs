//! What the analysis knows of an order: when it came, by which channel and line, what kind of
//! request, its category path, area, address and handling unit, and its words.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFact {
    /// The order number (drill-down ends here).
    pub no: String,
    /// When the request was received.
    pub at: DateTime<Utc>,
    /// phone, web, wechat, app, letter…
    pub channel: String,
    /// consultation, help, complaint, report, suggestion, praise, other.
    pub request_type: String,
    /// The category path, parts separated by `/` (城乡建设/供暖).
    pub category: String,
    /// The county or district (盐湖区…).
    pub area: String,
    /// Where it happened, as the agent wrote it.
    pub address: String,
    /// The lead unit, once dispatched.
    pub unit: Option<String>,
    /// The annex line dialed (12345, 12319…).
    pub line: String,
    /// What the caller asked, as written (sensitive phrases are looked for here).
    pub text: String,
    /// The request's words (segmented by the caller: jieba with the hotline's dictionary).
    pub words: Vec<String>,
}

impl OrderFact {
    /// The first `depth` parts of the category path (depth 0: the whole path).
    pub fn category_at(&self, depth: usize) -> &str {
        if depth == 0 {
            return &self.category;
        }
        match self.category.match_indices('/').nth(depth - 1) {
            Some((i, _)) => &self.category[..i],
            None => &self.category,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_levels() {
        let f = OrderFact {
            no: "1".into(),
            at: Utc::now(),
            channel: "phone".into(),
            request_type: "complaint".into(),
            category: "城乡建设/供暖/不热".into(),
            area: "盐湖区".into(),
            address: String::new(),
            unit: None,
            line: "12345".into(),
            text: String::new(),
            words: vec![],
        };
        assert_eq!(f.category_at(1), "城乡建设");
        assert_eq!(f.category_at(2), "城乡建设/供暖");
        assert_eq!(f.category_at(3), "城乡建设/供暖/不热");
        assert_eq!(f.category_at(9), "城乡建设/供暖/不热");
        assert_eq!(f.category_at(0), "城乡建设/供暖/不热");
    }
}
