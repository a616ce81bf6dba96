//! What screening decided about one datagram, and why.

use std::borrow::Cow;
use std::fmt;

/// The outcome of [`crate::screen_datagram`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Hand these bytes to the stack. Leading keepalive CRLFs are gone and, because UDP frames by
    /// datagram, octets after the Content-Length body are cut (RFC 4475 §3.1.1.8 `dblreq`).
    Accept { bytes: Cow<'a, [u8]>, head: Head },
    /// Send this serialized response back to the source and pass nothing on.
    Reply {
        status: u16,
        response: Vec<u8>,
        refusal: Refusal,
    },
    /// Drop silently: not SIP, a malformed response (responses are never answered), an ACK
    /// (never answered either), or a request too broken to build a response for.
    Drop(Refusal),
}

impl Verdict<'_> {
    /// The refusal behind a `Reply` or `Drop`; `None` for `Accept`.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Verdict::Accept { .. } => None,
            Verdict::Reply { refusal, .. } | Verdict::Drop(refusal) => Some(refusal),
        }
    }
}

/// The few facts about an accepted message that the shell wants without parsing it again
/// (logging, overload decisions, metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub kind: Kind,
    pub call_id: String,
    pub has_to_tag: bool,
    pub cseq_method: String,
    pub max_forwards: Option<u32>,
}

/// Request or response, with the one start-line fact that matters for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Request { method: String },
    Response { status: u16 },
}

/// Why a datagram was answered or dropped instead of accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Refusal {
    pub code: RefusalCode,
    /// Specifics for the log. Input bytes in it are escaped and truncated, never raw.
    pub detail: String,
}

impl Refusal {
    pub(crate) fn new(code: RefusalCode, detail: impl Into<String>) -> Self {
        Refusal {
            code,
            detail: detail.into(),
        }
    }
}

/// The class of fault. `describe()` is short, fixed text that is safe to put in a reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalCode {
    /// Empty, whitespace keepalive, or bytes that do not start like a SIP message.
    NotSip,
    /// The datagram is larger than `Limits::max_datagram`.
    DatagramTooLarge,
    /// The header section is larger than `Limits::max_header_bytes`.
    HeaderSectionTooLarge,
    /// More header fields than `Limits::max_headers`.
    TooManyHeaders,
    /// The start line is not terminated by CRLF, or a bare CR/LF appears in the header section.
    BadLineEnding,
    /// The header section does not end (no CRLF after the last field).
    UnterminatedHeaders,
    /// Request-Line structure: extra or trailing whitespace, wrong number of elements.
    MalformedRequestLine,
    /// Request-URI syntax: enclosed in `<>`, bad escapes, escaped headers, bad characters.
    MalformedRequestUri,
    /// A SIP version other than 2.0.
    VersionNotSupported,
    /// Status-Line of a response does not parse (e.g. a status code that is not 3 digits).
    MalformedStatusLine,
    /// A header line without a colon, with a bad name, or a continuation line with no field.
    MalformedHeaderLine,
    /// Via does not parse (e.g. empty parameters, bad sent-protocol or sent-by).
    MalformedVia,
    /// A Via branch that is exactly the RFC 3261 magic cookie, so it identifies no transaction.
    MagicCookieOnlyBranch,
    /// From/To/Contact does not parse: unbalanced quotes, non-token display name, spaces
    /// inside `<>`, an unbracketed URI with `?` or `,`.
    MalformedAddress,
    /// Call-ID is empty or has characters outside `word`.
    MalformedCallId,
    /// CSeq does not parse.
    MalformedCSeq,
    /// CSeq sequence number is 2^31 or more (RFC 3261 §8.1.1.5).
    CSeqOutOfRange,
    /// Max-Forwards is not a number from 0 to 255.
    MaxForwardsOutOfRange,
    /// Expires (header or contact parameter) is not a number up to 2^32-1.
    ExpiresOutOfRange,
    /// Content-Length is not a non-negative decimal number.
    MalformedContentLength,
    /// Content-Length appears more than once.
    MultipleContentLength,
    /// Content-Length is larger than the octets left in the datagram.
    ContentLengthMismatch,
    /// A header that takes one value appears more than once (or carries a list).
    DuplicateHeader,
    /// A header every message must carry (Via, From, To, Call-ID, CSeq) is missing.
    MissingHeader,
    /// The CSeq method differs from the Request-Line method.
    CSeqMethodMismatch,
    /// A method outside the supported set (answered 501 with Allow).
    UnknownMethod,
    /// A Request-URI scheme other than sip, sips or tel (answered 416).
    UnsupportedUriScheme,
    /// Proxy-Require names option tags that are not supported (answered 420 with Unsupported).
    BadExtension,
}

impl RefusalCode {
    /// Fixed wording for logs and reason phrases.
    pub fn describe(self) -> &'static str {
        match self {
            RefusalCode::NotSip => "not a SIP message",
            RefusalCode::DatagramTooLarge => "datagram too large",
            RefusalCode::HeaderSectionTooLarge => "header section too large",
            RefusalCode::TooManyHeaders => "too many header fields",
            RefusalCode::BadLineEnding => "line not ended by CRLF",
            RefusalCode::UnterminatedHeaders => "header section not terminated",
            RefusalCode::MalformedRequestLine => "malformed Request-Line",
            RefusalCode::MalformedRequestUri => "malformed Request-URI",
            RefusalCode::VersionNotSupported => "SIP version not supported",
            RefusalCode::MalformedStatusLine => "malformed Status-Line",
            RefusalCode::MalformedHeaderLine => "malformed header line",
            RefusalCode::MalformedVia => "malformed Via",
            RefusalCode::MagicCookieOnlyBranch => "Via branch is only the magic cookie",
            RefusalCode::MalformedAddress => "malformed From, To or Contact",
            RefusalCode::MalformedCallId => "malformed Call-ID",
            RefusalCode::MalformedCSeq => "malformed CSeq",
            RefusalCode::CSeqOutOfRange => "CSeq number out of range",
            RefusalCode::MaxForwardsOutOfRange => "Max-Forwards out of range",
            RefusalCode::ExpiresOutOfRange => "Expires out of range",
            RefusalCode::MalformedContentLength => "malformed Content-Length",
            RefusalCode::MultipleContentLength => "multiple Content-Length values",
            RefusalCode::ContentLengthMismatch => "Content-Length exceeds datagram",
            RefusalCode::DuplicateHeader => "single-value header repeated",
            RefusalCode::MissingHeader => "missing required header",
            RefusalCode::CSeqMethodMismatch => "CSeq method differs from Request-Line method",
            RefusalCode::UnknownMethod => "method not implemented",
            RefusalCode::UnsupportedUriScheme => "unsupported Request-URI scheme",
            RefusalCode::BadExtension => "unsupported Proxy-Require option",
        }
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}
