//! What an order is about, as the agent takes it down.

use serde::{Deserialize, Serialize};

/// The notice's request types (诉求类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestType {
    /// 咨询
    Consultation,
    /// 求助
    Help,
    /// 投诉
    Complaint,
    /// 举报: the requester is never shown to units.
    Report,
    /// 建议
    Suggestion,
    /// 表扬
    Praise,
    /// 其他
    Other,
}

impl RequestType {
    pub fn chinese(self) -> &'static str {
        match self {
            RequestType::Consultation => "咨询",
            RequestType::Help => "求助",
            RequestType::Complaint => "投诉",
            RequestType::Report => "举报",
            RequestType::Suggestion => "建议",
            RequestType::Praise => "表扬",
            RequestType::Other => "其他",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
    VeryUrgent,
}

/// Who asked. Anonymous requesters give no name; confidentiality hides the contact from units
/// (see [`crate::privacy`]). Every field may be left out when deserialized.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Requester {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The resident ID card number (身份证号), when the request needs it.
    pub id_card: Option<String>,
    pub anonymous: bool,
    pub confidential: bool,
}

/// The intake form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub request_type: RequestType,
    /// Category path, e.g. "城乡建设/供暖".
    pub category: String,
    pub urgency: Urgency,
    pub requester: Requester,
    pub address: String,
    pub area: String,
    pub content: String,
}

/// A callback's satisfaction, five levels (非常满意 … 非常不满意).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    VeryUnsatisfied,
    Unsatisfied,
    Neutral,
    Satisfied,
    VerySatisfied,
}

impl Satisfaction {
    /// Satisfied or better counts as satisfied in the KPIs.
    pub fn is_satisfied(self) -> bool {
        self >= Satisfaction::Satisfied
    }
}
