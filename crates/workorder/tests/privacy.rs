//! Masking vectors, who sees what (every role × normal/report/confidential × reveal), and
//! redaction that leaves no full number anywhere in the JSON a unit gets.

mod common;

use common::*;
use hotline_workorder::{
    Event, EventKind, Exposure, RequestType, Role, WorkOrder, exposure, hide_free_text,
    mask_free_text, mask_id_card, mask_phone, redact_event, redact_history, redact_order,
};

#[test]
fn phone_vectors() {
    for (raw, masked) in [
        ("13812341234", "138****1234"),
        (" 13812341234 ", "138****1234"),
        ("+8613812341234", "+86138****1234"),
        ("+86 13812341234", "+86 138****1234"),
        ("008613812341234", "0086138****1234"),
        ("8613812341234", "86138****1234"),
        ("138-1234-1234", "138****1234"),
        // Landlines: the area code names a city and stays; 7-digit local numbers are hidden.
        ("0359-2666110", "0359-*******"),
        ("03592666110", "0359*******"),
        ("(0359)2666110", "(0359)*******"),
        ("010-62345678", "010-****5678"),
        ("01062345678", "010****5678"),
        ("2666110", "*******"),
        ("62345678", "****5678"),
        // Other lengths.
        ("12345", "*****"),
        ("1001", "****"),
        ("123456789012", "123*****9012"),
        ("", ""),
    ] {
        assert_eq!(mask_phone(raw), masked, "{raw:?}");
    }
}

#[test]
fn id_card_vectors() {
    assert_eq!(mask_id_card("110105199001011234"), "110105********1234");
    assert_eq!(mask_id_card("11010519900101123X"), "110105********123X");
    assert_eq!(mask_id_card("11010519900101123x"), "110105********123x");
    assert_eq!(mask_id_card("110105900101123"), "110105*****1123");
    assert_eq!(mask_id_card("1101051990"), "**********");
    assert_eq!(mask_id_card("11010519900101123Y"), "******************");
}

#[test]
fn free_text_vectors() {
    for (raw, masked, hidden) in [
        (
            "我叫张三，电话13812341234，身份证110105199001011234。",
            "我叫张三，电话138****1234，身份证110105********1234。",
            "我叫张三，电话***********，身份证******************。",
        ),
        (
            "身份证号11010519900101123X号楼",
            "身份证号110105********123X号楼",
            "身份证号******************号楼",
        ),
        (
            "回电+86 13812341234或138-1234-1234或138 1234 1234",
            "回电+86 138****1234或138-****-1234或138 **** 1234",
            "回电+86 ***********或***-****-****或*** **** ****",
        ),
        (
            "座机0359-2666110，03592666110",
            "座机0359-*******，0359*******",
            "座机****-*******，***********",
        ),
        (
            "银行卡6222021234567890123扣款",
            "银行卡***************0123扣款",
            "银行卡*******************扣款",
        ),
        // Not personal numbers: order numbers, dates, amounts, addresses, short codes.
        (
            "工单YC20261125-000123于2026年11月25日，金额1500元，和平路12号3单元，拨打12345",
            "工单YC20261125-000123于2026年11月25日，金额1500元，和平路12号3单元，拨打12345",
            "工单YC20261125-000123于2026年11月25日，金额1500元，和平路12号3单元，拨打12345",
        ),
        // Runs that only contain a number are not it: 12 digits from 1, a 22-digit run.
        (
            "编号138123412345 流水1381234123413812341234",
            "编号138123412345 流水1381234123413812341234",
            "编号138123412345 流水1381234123413812341234",
        ),
    ] {
        assert_eq!(mask_free_text(raw), masked, "{raw}");
        assert_eq!(hide_free_text(raw), hidden, "{raw}");
    }
}

fn order(t: RequestType, confidential: bool) -> WorkOrder {
    let mut i = intake(t);
    i.requester.confidential = confidential;
    let mut c = Case::new(Some("1001"), bj(2026, 3, 2, 9));
    c.ok(bj(2026, 3, 2, 9), agent(), EventKind::IntakeFilled(i));
    c.ok(bj(2026, 3, 2, 9), agent(), dispatch("市住建局"));
    c.order
}

#[test]
fn the_exposure_matrix() {
    use Exposure::*;
    let roles = [
        Role::Agent,
        Role::Supervisor,
        Role::Admin,
        Role::System,
        Role::UnitStaff("市住建局".into()),
        Role::UnitHead("市住建局".into()),
    ];
    let orders = [
        ("normal", order(RequestType::Complaint, false)),
        ("report", order(RequestType::Report, false)),
        ("confidential", order(RequestType::Help, true)),
        ("confidential report", order(RequestType::Report, true)),
    ];
    for role in &roles {
        let unit = role.unit().is_some();
        for (what, o) in &orders {
            for revealed in [false, true] {
                let expected = match (unit, *what, revealed) {
                    (false, _, _) => Full,
                    (true, "normal", false) => Masked,
                    (true, "normal", true) => Full,
                    (true, _, _) => Hidden,
                };
                assert_eq!(
                    exposure(o, role, revealed),
                    expected,
                    "{} {what} revealed={revealed}",
                    role.name()
                );
            }
        }
    }
}

const CALLER: &str = "13812345678";
const PHONE: &str = "13912340000";
const ID: &str = "11010519900101123X";
const LANDLINE: &str = "2666110";

/// An order whose numbers are everywhere: the caller, the requester's phone, the content and
/// address, the transfer card, the reply, a note; and the landline (a shape free text alone
/// cannot tell from other numbers) as the requester's phone of a second order.
fn history(t: RequestType, anonymous: bool) -> Case {
    let mut c = Case::new(Some("1001"), bj(2026, 3, 2, 9));
    c.events[0].kind = EventKind::Drafted {
        record: "rec-1".into(),
        agent: Some("1001".into()),
        caller: CALLER.into(),
        line: Some("12345".into()),
    };
    c.order = WorkOrder::from_draft(&c.events[0]).unwrap();
    let mut i = intake(t);
    i.requester.phone = Some(PHONE.into());
    i.requester.id_card = Some(ID.into());
    i.requester.anonymous = anonymous;
    if anonymous {
        i.requester.name = Some("李四".into());
    }
    i.content = format!(
        "{}反映：本人身份证{ID}，来电{CALLER}，另可拨{PHONE}或139-1234-0000，暖气不热",
        i.requester.name.clone().unwrap()
    );
    i.address = format!("和平路1号（联系{CALLER}）");
    c.ok(bj(2026, 3, 2, 9), agent(), EventKind::IntakeFilled(i));
    c.ok(
        bj(2026, 3, 2, 9),
        agent(),
        EventKind::Dispatched {
            lead: "市住建局".into(),
            co: vec![],
            card: format!("请联系诉求人{CALLER}核查"),
        },
    );
    c.ok(bj(2026, 3, 2, 11), staff("市住建局"), EventKind::SignedFor);
    c.ok(
        bj(2026, 3, 3, 11),
        staff("市住建局"),
        EventKind::Replied {
            internal: format!("已电话{PHONE}联系"),
            public: "已修复".into(),
            contacted_caller: true,
            solved: true,
        },
    );
    c
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn redaction_leaves_no_full_number_in_the_json() {
    let c = history(RequestType::Complaint, false);
    let all = [CALLER, PHONE, ID, "139-1234-0000", "19900101"];
    // They are all there before.
    let raw = json(&c.events) + &json(&c.order);
    for n in all.iter().chain(&["张三"]) {
        assert!(raw.contains(n), "{n}");
    }
    for e in [Exposure::Masked, Exposure::Hidden] {
        let o = redact_order(&c.order, e);
        let h = redact_history(&c.events, e);
        let each: Vec<Event> = c.events.iter().map(|ev| redact_event(ev, e)).collect();
        for (what, text) in [
            ("order", json(&o)),
            ("history", json(&h)),
            ("events", json(&each)),
        ] {
            for n in all {
                assert!(!text.contains(n), "{e:?} {what} has {n}: {text}");
            }
            if e == Exposure::Hidden {
                // Not even the masked form, nor the name.
                for n in ["5678", "0000", "张三"] {
                    assert!(!text.contains(n), "{e:?} {what} has {n}: {text}");
                }
            } else {
                assert!(text.contains("138****5678"), "{what}: {text}");
                assert!(text.contains("张三"), "{what}: the name stays");
            }
        }
        let i = o.intake.as_ref().unwrap();
        match e {
            Exposure::Masked => {
                assert_eq!(o.caller, "138****5678");
                assert_eq!(i.requester.phone.as_deref(), Some("139****0000"));
                assert_eq!(i.requester.name.as_deref(), Some("张三"));
                assert_eq!(i.requester.id_card.as_deref(), Some("110105********123X"));
                assert!(i.content.contains("110105********123X"), "{}", i.content);
            }
            _ => {
                assert_eq!(o.caller, "");
                assert_eq!(
                    (i.requester.phone.as_ref(), i.requester.name.as_ref()),
                    (None, None)
                );
                assert_eq!(i.requester.id_card, None);
            }
        }
        // Redacting changes nothing else of the order, and the history still replays (the
        // state it gives is the redacted one, numbers aside).
        let mut back = o.clone();
        back.caller = c.order.caller.clone();
        back.intake = c.order.intake.clone();
        assert_eq!(back, c.order);
        let replayed = WorkOrder::replay(&h, &c.rules, &c.cal).unwrap();
        assert_eq!(replayed.status, c.order.status);
        assert_eq!(replayed.caller, o.caller);
    }
    // Full is the order as it is.
    assert_eq!(redact_order(&c.order, Exposure::Full), c.order);
    assert_eq!(redact_history(&c.events, Exposure::Full), c.events);
    assert_eq!(redact_event(&c.events[1], Exposure::Full), c.events[1]);
}

#[test]
fn anonymous_requesters_lose_their_name_even_masked() {
    let c = history(RequestType::Complaint, true);
    let o = redact_order(&c.order, Exposure::Masked);
    let i = o.intake.as_ref().unwrap();
    assert_eq!(i.requester.name, None);
    assert!(i.content.starts_with("**反映"), "{}", i.content);
    let h = json(&redact_history(&c.events, Exposure::Masked));
    assert!(!h.contains("李四"), "{h}");
}

#[test]
fn the_orders_own_numbers_are_found_in_any_shape() {
    // A local landline without its area code looks like any 7-digit number in free text; the
    // order knows it is the requester's.
    let mut c = Case::new(Some("1001"), bj(2026, 3, 2, 9));
    let mut i = intake(RequestType::Help);
    i.requester.phone = Some(LANDLINE.into());
    i.content = format!("请回电{LANDLINE}，门牌1500号");
    c.ok(bj(2026, 3, 2, 9), agent(), EventKind::IntakeFilled(i));
    c.ok(
        bj(2026, 3, 2, 9),
        agent(),
        EventKind::Dispatched {
            lead: "市住建局".into(),
            co: vec![],
            card: format!("联系电话{LANDLINE}"),
        },
    );
    for e in [Exposure::Masked, Exposure::Hidden] {
        let o = redact_order(&c.order, e);
        assert_eq!(o.intake.unwrap().content, "请回电*******，门牌1500号");
        let h = json(&redact_history(&c.events, e));
        assert!(!h.contains(LANDLINE), "{h}");
        // One event alone knows its own requester too.
        let ev = json(&redact_event(&c.events[1], e));
        assert!(!ev.contains(LANDLINE), "{ev}");
    }
}
