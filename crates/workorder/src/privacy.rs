//! Who sees the requester's personal data, and the masking and redaction that enforce it.
//!
//! **Personal data** here is what identifies or reaches the requester: the calling number
//! (`WorkOrder.caller`, `Drafted.caller`), the requester's name and phone (`Intake.requester`),
//! and, inside free text (the request's `content` and `address`, the transfer card, replies,
//! notes, letters), mainland ID-card numbers (18 characters, or the old 15 digits), mobile
//! numbers (11 digits from 1, also with +86/86 or written 3-4-4 with `-` or spaces), landlines
//! with an area code (`0359-2666110`, `03592666110`) and bank-card-like runs of 16–19 digits.
//! A name, or a number in another shape, inside free text is found only when the order names it
//! ([`redact_order`], [`redact_history`]: the caller's and the requester's own number and name).
//! Not personal data: the area (区县), the category, the dialled line, call-record ids, order
//! numbers, staff ids.
//!
//! **Exposure** ([`exposure`]): the 12345 center (agents, supervisors, admins, the scheduler)
//! sees everything. A unit sees the data masked; an audited reveal (the caller logs it) shows it
//! in full. A report (举报) or a requester who asked for confidentiality is hidden from units
//! always, reveal or not: nothing that reaches the requester, not even masked. Whether the unit
//! may see the order at all is [`WorkOrder::visible_to_unit`]'s question, not this module's.

use crate::event::{Event, EventKind, Role};
use crate::order::WorkOrder;
use crate::types::{Intake, RequestType};
use serde::{Deserialize, Serialize};

/// How much of the requester's personal data a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// As recorded.
    Full,
    /// Numbers masked ([`mask_phone`], [`mask_free_text`]); the name kept unless the requester
    /// is anonymous.
    Masked,
    /// Number and name removed; numbers in free text starred out entirely.
    Hidden,
}

/// What `role` sees of `order`'s personal data; `revealed` is a unit's audited request to see
/// it in full (logged by the caller), refused for reports and confidential requesters.
pub fn exposure(order: &WorkOrder, role: &Role, revealed: bool) -> Exposure {
    match role {
        Role::Agent | Role::Supervisor | Role::Admin | Role::System => Exposure::Full,
        Role::UnitStaff(_) | Role::UnitHead(_) => {
            if protected(order.intake.as_ref()) {
                Exposure::Hidden
            } else if revealed {
                Exposure::Full
            } else {
                Exposure::Masked
            }
        }
    }
}

/// A report (举报) or a confidential requester: hidden from units.
fn protected(intake: Option<&Intake>) -> bool {
    intake.is_some_and(|i| i.request_type == RequestType::Report || i.requester.confidential)
}

/// The order as a reader with exposure `e` may see it: the caller's number, the requester's
/// name and phone, and the numbers (and the order's own name and numbers) in the content and
/// address.
pub fn redact_order(order: &WorkOrder, e: Exposure) -> WorkOrder {
    if e == Exposure::Full {
        return order.clone();
    }
    let known = Known::of_order(order, e);
    let mut o = order.clone();
    o.caller = known.number(&o.caller);
    if let Some(i) = &mut o.intake {
        redact_intake(i, &known);
    }
    o
}

/// One event as a reader with exposure `e` may see it. Without the order, only the shapes
/// listed in the module docs are found in free text; [`redact_history`] also finds the
/// requester's own number and name wherever they appear.
pub fn redact_event(ev: &Event, e: Exposure) -> Event {
    redact_with(ev, &Known::none(e))
}

/// A whole history as a reader with exposure `e` may see it: every event redacted, the
/// requester's number and name (from its `drafted` and `intake_filled` events) found in any
/// shape in every free text.
pub fn redact_history(events: &[Event], e: Exposure) -> Vec<Event> {
    if e == Exposure::Full {
        return events.to_vec();
    }
    let mut known = Known::none(e);
    for ev in events {
        match &ev.kind {
            EventKind::Drafted { caller, .. } => known.add_number(caller),
            EventKind::IntakeFilled(i) => known.add_requester(i),
            _ => {}
        }
    }
    events.iter().map(|ev| redact_with(ev, &known)).collect()
}

fn redact_with(ev: &Event, known: &Known) -> Event {
    use EventKind as K;
    if known.exposure == Exposure::Full {
        return ev.clone();
    }
    let t = |s: &String| known.text(s);
    let kind = match &ev.kind {
        K::Drafted {
            record,
            agent,
            caller,
            line,
        } => K::Drafted {
            record: record.clone(),
            agent: agent.clone(),
            caller: known.number(caller),
            line: line.clone(),
        },
        K::IntakeFilled(i) => {
            let mut i = i.clone();
            // The event's own requester, whatever the history said before.
            let mut own = known.clone();
            own.add_requester(&i);
            redact_intake(&mut i, &own);
            K::IntakeFilled(i)
        }
        K::AnsweredOnSpot { answer } => K::AnsweredOnSpot { answer: t(answer) },
        K::EmergencyTransferred { number } => K::EmergencyTransferred {
            number: number.clone(),
        },
        K::Informed { guidance } => K::Informed {
            guidance: t(guidance),
        },
        K::Dispatched { lead, co, card } => K::Dispatched {
            lead: lead.clone(),
            co: co.clone(),
            card: t(card),
        },
        K::SignedFor => K::SignedFor,
        K::ReturnRequested { reasons, basis } => K::ReturnRequested {
            reasons: t(reasons),
            basis: t(basis),
        },
        K::Reassigned { lead, co, card } => K::Reassigned {
            lead: lead.clone(),
            co: co.clone(),
            card: t(card),
        },
        K::ReturnRejected { reason } => K::ReturnRejected { reason: t(reason) },
        K::ExtensionRequested {
            new_due,
            basis,
            reason,
        } => K::ExtensionRequested {
            new_due: *new_due,
            basis: t(basis),
            reason: t(reason),
        },
        K::ExtensionDecided {
            approved,
            note,
            caller_informed,
        } => K::ExtensionDecided {
            approved: *approved,
            note: t(note),
            caller_informed: *caller_informed,
        },
        K::Replied {
            internal,
            public,
            contacted_caller,
            solved,
        } => K::Replied {
            internal: t(internal),
            public: t(public),
            contacted_caller: *contacted_caller,
            solved: *solved,
        },
        K::Reviewed { passed, note } => K::Reviewed {
            passed: *passed,
            note: t(note),
        },
        K::CallbackAttempt { .. } => ev.kind.clone(),
        K::RedoOrdered { letter } => K::RedoOrdered { letter: t(letter) },
        K::Classified { category } => K::Classified {
            category: category.clone(),
        },
        K::Merged { into } => K::Merged { into: into.clone() },
        K::Reminded { notice } => K::Reminded { notice: *notice },
        K::CriticismFlagged => K::CriticismFlagged,
    };
    Event {
        at: ev.at,
        actor: ev.actor.clone(),
        kind,
    }
}

fn redact_intake(i: &mut Intake, known: &Known) {
    let r = &mut i.requester;
    match known.exposure {
        Exposure::Full => return,
        Exposure::Masked => {
            r.phone = r.phone.as_deref().map(mask_phone);
            r.id_card = r.id_card.as_deref().map(mask_id_card);
            if r.anonymous {
                r.name = None;
            }
        }
        Exposure::Hidden => {
            r.phone = None;
            r.id_card = None;
            r.name = None;
        }
    }
    i.content = known.text(&i.content);
    i.address = known.text(&i.address);
}

/// The requester's own numbers and (when not shown) name, to find in free text.
#[derive(Clone)]
struct Known {
    exposure: Exposure,
    numbers: Vec<String>,
    names: Vec<String>,
}

impl Known {
    fn none(exposure: Exposure) -> Known {
        Known {
            exposure,
            numbers: Vec::new(),
            names: Vec::new(),
        }
    }

    fn of_order(o: &WorkOrder, exposure: Exposure) -> Known {
        let mut k = Known::none(exposure);
        k.add_number(&o.caller);
        if let Some(i) = &o.intake {
            k.add_requester(i);
        }
        k
    }

    fn add_number(&mut self, n: &str) {
        let n = n.trim();
        // Shorter ones (an extension, a short code) would match ordinary text.
        if n.chars().filter(char::is_ascii_digit).count() >= 5
            && !self.numbers.iter().any(|k| k == n)
        {
            self.numbers.push(n.to_string());
            // Longest first, so a number inside another is replaced as part of it.
            self.numbers.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    fn add_requester(&mut self, i: &Intake) {
        if let Some(p) = &i.requester.phone {
            self.add_number(p);
        }
        if let Some(id) = &i.requester.id_card {
            self.add_number(id);
        }
        let hide_name = self.exposure == Exposure::Hidden
            || (self.exposure == Exposure::Masked && i.requester.anonymous);
        if hide_name && let Some(name) = &i.requester.name {
            let name = name.trim();
            if name.chars().count() >= 2 && !self.names.iter().any(|k| k == name) {
                self.names.push(name.to_string());
            }
        }
    }

    /// The caller's number field.
    fn number(&self, n: &str) -> String {
        match self.exposure {
            Exposure::Full => n.to_string(),
            Exposure::Masked => mask_phone(n),
            Exposure::Hidden => String::new(),
        }
    }

    fn text(&self, s: &str) -> String {
        let hide = match self.exposure {
            Exposure::Full => return s.to_string(),
            Exposure::Masked => false,
            Exposure::Hidden => true,
        };
        let mut s = s.to_string();
        for n in &self.numbers {
            if s.contains(n.as_str()) {
                let with = if hide {
                    stars(n.chars().count())
                } else if is_id_card(n) {
                    mask_id_card(n)
                } else {
                    mask_phone(n)
                };
                s = s.replace(n.as_str(), &with);
            }
        }
        for n in &self.names {
            s = s.replace(n.as_str(), &stars(n.chars().count()));
        }
        scrub(&s, hide)
    }
}

/// 18 characters, digits with a last digit or X: the shape of a resident ID card number.
fn is_id_card(n: &str) -> bool {
    let c: Vec<char> = n.chars().collect();
    c.len() == 18
        && c[..17].iter().all(char::is_ascii_digit)
        && (c[17].is_ascii_digit() || c[17] == 'X' || c[17] == 'x')
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

/// A phone number with its subscriber digits starred:
///
/// - a leading `+86`, `0086` (or `86` before an 11-digit number) is kept as written;
/// - then an area code (a leading 0: up to a `-`, space or `)`, or without a separator in a
///   10–12 digit number, 3 digits for 01x/02x and 4 otherwise) is kept — it names a city;
/// - of the rest (separators dropped), 11 or more digits keep the first 3 and the last 4
///   (`13812341234` → `138****1234`), 8 to 10 keep the last 4 (`010-62345678` →
///   `010-****5678`), fewer are all stars (`0359-2666110` → `0359-*******`, `12345` →
///   `*****`): at least 4 subscriber digits are always hidden.
///
/// (The brief's "first 3 and last 4 from 8 characters" would show 7 of 8 digits; the
/// 8–10 case keeps only the last 4 instead.)
pub fn mask_phone(s: &str) -> String {
    let t = s.trim();
    let (country, rest) = split_country(t);
    let (area, local) = split_area(rest);
    format!("{country}{area}{}", mask_subscriber(local))
}

fn split_country(t: &str) -> (&str, &str) {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
    let p = ["+86", "0086", "86"]
        .into_iter()
        .find(|p| t.starts_with(p) && (*p != "86" || (digits(t) == 13 && t[2..].starts_with('1'))));
    let Some(p) = p else { return ("", t) };
    let mut end = p.len();
    if t[end..].starts_with([' ', '-']) {
        end += 1;
    }
    t.split_at(end)
}

fn split_area(t: &str) -> (&str, &str) {
    if let Some(rest) = t.strip_prefix('(')
        && let Some(close) = rest.find(')')
        && rest.starts_with('0')
    {
        return t.split_at(close + 2);
    }
    if !t.starts_with('0') {
        return ("", t);
    }
    if let Some(sep) = t.find([' ', '-']) {
        if (3..=4).contains(&sep) && t[..sep].chars().all(|c| c.is_ascii_digit()) {
            return t.split_at(sep + 1);
        }
        return ("", t);
    }
    if t.chars().all(|c| c.is_ascii_digit()) && (10..=12).contains(&t.len()) {
        let n = if t.starts_with("01") || t.starts_with("02") {
            3
        } else {
            4
        };
        return t.split_at(n);
    }
    ("", t)
}

fn mask_subscriber(s: &str) -> String {
    let chars: Vec<char> = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let n = chars.len();
    let keep = |head: usize, tail: usize| {
        let mut out: String = chars[..head].iter().collect();
        out.push_str(&stars(n - head - tail));
        out.extend(&chars[n - tail..]);
        out
    };
    if n >= 11 {
        keep(3, 4)
    } else if n >= 8 {
        keep(0, 4)
    } else {
        stars(n)
    }
}

/// An ID-card number masked: 18 characters (17 digits and a digit or X) keep the first 6 (the
/// region) and the last 4: `110105199001011234` → `110105********1234`; the old 15-digit ones
/// likewise (`110105*****1234`). Anything else is all stars.
pub fn mask_id_card(s: &str) -> String {
    let t = s.trim();
    let c: Vec<char> = t.chars().collect();
    let id18 = c.len() == 18
        && c[..17].iter().all(char::is_ascii_digit)
        && (c[17].is_ascii_digit() || c[17] == 'X' || c[17] == 'x');
    let id15 = c.len() == 15 && c.iter().all(char::is_ascii_digit);
    if id18 || id15 {
        let mut out: String = c[..6].iter().collect();
        out.push_str(&stars(c.len() - 10));
        out.extend(&c[c.len() - 4..]);
        out
    } else {
        stars(c.len())
    }
}

/// Free text with the personal numbers of the module docs masked (ID cards as
/// [`mask_id_card`], phones as [`mask_phone`], bank-card-like runs to their last 4 digits); the
/// rest, order numbers and dates included, as written.
pub fn mask_free_text(s: &str) -> String {
    scrub(s, false)
}

/// Free text with the same numbers as [`mask_free_text`] starred out entirely (for
/// [`Exposure::Hidden`]).
pub fn hide_free_text(s: &str) -> String {
    scrub(s, true)
}

fn scrub(s: &str, hide: bool) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < c.len() {
        if !c[i].is_ascii_digit() {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let run = digits_at(&c, i);
        if let Some((len, masked)) = personal_number(&c, i, run) {
            if hide {
                out.extend(
                    c[i..i + len]
                        .iter()
                        .map(|ch| if ch.is_ascii_alphanumeric() { '*' } else { *ch }),
                );
            } else {
                out.push_str(&masked);
            }
            i += len;
        } else {
            out.extend(&c[i..i + run]);
            i += run;
        }
    }
    out
}

/// The length of the run of ASCII digits at `i`.
fn digits_at(c: &[char], i: usize) -> usize {
    c[i..].iter().take_while(|ch| ch.is_ascii_digit()).count()
}

/// A personal number starting at `i` (a run of `run` digits): how many characters it takes and
/// its masked form.
fn personal_number(c: &[char], i: usize, run: usize) -> Option<(usize, String)> {
    let text = |len: usize| c[i..i + len].iter().collect::<String>();
    let at = |j: usize| c.get(i + j).copied();
    // An ID card with an X check digit.
    if run == 17
        && matches!(at(17), Some('X' | 'x'))
        && !at(18).is_some_and(|ch| ch.is_ascii_alphanumeric())
    {
        return Some((18, mask_id_card(&text(18))));
    }
    match run {
        15 | 18 => return Some((run, mask_id_card(&text(run)))),
        11 if c[i] == '1' => return Some((run, mask_phone(&text(run)))),
        13 if c[i] == '8' && c[i + 1] == '6' && c[i + 2] == '1' => {
            return Some((run, mask_phone(&text(run))));
        }
        10..=12 if c[i] == '0' => return Some((run, mask_phone(&text(run)))),
        16..=19 => return Some((run, format!("{}{}", stars(run - 4), &text(run)[run - 4..]))),
        _ => {}
    }
    // A mobile written 3-4-4, with `-` or spaces.
    if run == 3
        && c[i] == '1'
        && let Some(sep @ ('-' | ' ')) = at(3)
        && digits_at(c, i + 4) == 4
        && at(8) == Some(sep)
        && i + 9 < c.len()
        && digits_at(c, i + 9) == 4
    {
        let t = text(13);
        return Some((13, format!("{}{sep}****{sep}{}", &t[..3], &t[9..])));
    }
    // A landline with its area code and a dash.
    if (3..=4).contains(&run) && c[i] == '0' && at(run) == Some('-') && i + run + 1 < c.len() {
        let local = digits_at(c, i + run + 1);
        if (7..=8).contains(&local) {
            let len = run + 1 + local;
            return Some((len, mask_phone(&text(len))));
        }
    }
    None
}
