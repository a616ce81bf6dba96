//! The work-order service on a real database (SQLite and PostgreSQL), driven by a manual
//! clock: drafts, steps, refusals that write nothing, concurrent steps, a month of the
//! scheduler with its notifications delivered, KPIs, log-in, calendar overrides.

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;
use hotline_calendar::Calendar;
use hotline_cdr::{CallKind, CallRecord, CallRecordBuilder, EndReason};
use hotline_orders::outbox::{Outbox, SmsSink};
use hotline_orders::{OrderService, ServiceError, Settings, auth};
use hotline_store::{CalendarOverrideRow, Store, UserRow};
use hotline_workorder::{
    Actor, EventKind, Intake, Kpis, RequestType, Requester, Role, Satisfaction, Status, Urgency,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    calls_become_drafts_once_and_missed_calls_go_to_the_callback_list,
    catch_up_drafts_records_that_have_no_order,
    a_full_lifecycle_and_its_kpis,
    a_refused_step_writes_nothing,
    concurrent_steps_one_wins_the_other_is_refused_on_the_fresh_state,
    a_month_of_the_scheduler_with_notifications_delivered,
    log_in_tokens_expire_and_log_out,
    calendar_overrides_move_deadlines,
);

/// Beijing wall time.
fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn record(id: &str, at: DateTime<Utc>, agent: Option<&str>) -> CallRecord {
    let mut b = CallRecordBuilder::arrived(
        id,
        format!("{id}@10.0.0.1"),
        "13812341234",
        "12345",
        CallKind::Hotline,
        at,
    );
    match agent {
        Some(a) => {
            b.answered(Some(a.into()), at + Duration::seconds(20));
            b.ended(EndReason::CallerHangup, 200, at + Duration::seconds(200))
        }
        None => b.ended(EndReason::Abandoned, 487, at + Duration::seconds(30)),
    }
}

fn settings() -> Settings {
    Settings {
        number_prefix: "YC".into(),
        unit_sms: HashMap::from([("市交通局".to_string(), vec!["13900000001".to_string()])]),
        sms: true,
        webhooks: Vec::new(),
        units: BTreeSet::from(["市交通局".to_string(), "市生态环境局".to_string()]),
        ..Settings::default()
    }
}

async fn service(db: &TestDb, s: Settings) -> OrderService {
    let store = Store::connect(&db.url).await.expect("connect");
    OrderService::new(store, s, Calendar::embedded().expect("calendar"))
}

fn agent() -> Actor {
    Actor {
        id: "1001".into(),
        role: Role::Agent,
    }
}
fn supervisor() -> Actor {
    Actor {
        id: "sup".into(),
        role: Role::Supervisor,
    }
}
fn staff(unit: &str) -> Actor {
    Actor {
        id: "jtj".into(),
        role: Role::UnitStaff(unit.into()),
    }
}

fn intake(t: RequestType) -> Intake {
    Intake {
        request_type: t,
        category: "交通/公交".into(),
        urgency: Urgency::Normal,
        requester: Requester {
            name: Some("张三".into()),
            phone: Some("13812341234".into()),
            id_card: None,
            anonymous: false,
            confidential: false,
        },
        address: "和平路 1 号".into(),
        area: "盐湖区".into(),
        content: "公交站牌损坏".into(),
    }
}

fn dispatch(lead: &str) -> EventKind {
    EventKind::Dispatched {
        lead: lead.into(),
        co: vec![],
        card: "请核实并修复站牌".into(),
    }
}

/// An answered call's order, filled in and dispatched to 市交通局 at `at`.
async fn dispatched(svc: &OrderService, id: &str, at: DateTime<Utc>, t: RequestType) -> String {
    let d = svc
        .draft(&record(id, at, Some("1001")))
        .await
        .expect("draft");
    svc.step(
        &d.no,
        agent(),
        EventKind::IntakeFilled(intake(t)),
        at + Duration::minutes(5),
    )
    .await
    .expect("intake");
    svc.step(
        &d.no,
        agent(),
        dispatch("市交通局"),
        at + Duration::minutes(6),
    )
    .await
    .expect("dispatch");
    d.no
}

async fn calls_become_drafts_once_and_missed_calls_go_to_the_callback_list(db: TestDb) {
    let svc = service(&db, settings()).await;
    let at = bj(2026, 11, 25, 9);
    let a = svc.draft(&record("c-1", at, Some("1001"))).await.unwrap();
    assert_eq!(a.no, "YC20261125-000001");
    assert!(a.new);
    let again = svc.draft(&record("c-1", at, Some("1001"))).await.unwrap();
    assert_eq!(again.no, a.no);
    assert!(!again.new);
    let m = svc.draft(&record("c-2", at, None)).await.unwrap();
    assert_eq!(m.no, "YC20261125-000002");

    let o = svc.load(&a.no).await.unwrap();
    assert_eq!(o.order.status, Status::Draft);
    assert_eq!(o.order.owner.as_deref(), Some("1001"));
    assert_eq!(o.row.status, "draft");
    assert_eq!(o.row.created_at, at);
    let missed = svc.load(&m.no).await.unwrap();
    assert_eq!(missed.order.status, Status::MissedCall);
    assert_eq!(missed.order.owner, None);
    assert_eq!(missed.row.status, "missed_call");
}

async fn catch_up_drafts_records_that_have_no_order(db: TestDb) {
    let svc = service(&db, settings()).await;
    let at = bj(2026, 11, 26, 10);
    // Records that reached the database without a draft (spooled while it was down).
    for i in 0..3 {
        svc.store()
            .insert_call_record(&record(&format!("s-{i}"), at, (i != 1).then_some("1002")))
            .await
            .unwrap();
    }
    svc.draft(&record("s-0", at, Some("1002"))).await.unwrap();
    assert_eq!(svc.catch_up(at - Duration::days(1)).await.unwrap(), 2);
    assert_eq!(svc.catch_up(at - Duration::days(1)).await.unwrap(), 0);
    for (id, status) in [("s-0", "draft"), ("s-1", "missed_call"), ("s-2", "draft")] {
        let row = svc.store().order_by_record(id).await.unwrap().expect(id);
        assert_eq!(row.status, status, "{id}");
    }
}

async fn a_full_lifecycle_and_its_kpis(db: TestDb) {
    let svc = service(&db, settings()).await;
    let t0 = bj(2026, 11, 2, 9); // a Monday
    let no = dispatched(&svc, "l-1", t0, RequestType::Complaint).await;
    let o = svc.load(&no).await.unwrap();
    // 7 working days from the day after: Nov 3..11, 24:00 of Nov 11.
    assert_eq!(o.row.due_at, Some(bj(2026, 11, 12, 0)));
    assert_eq!(o.row.lead_unit.as_deref(), Some("市交通局"));
    assert_eq!(o.row.request_type.as_deref(), Some("complaint"));
    let unit = staff("市交通局");
    let steps = [
        (unit.clone(), EventKind::SignedFor, bj(2026, 11, 2, 15)),
        (
            unit.clone(),
            EventKind::Replied {
                internal: "已更换站牌".into(),
                public: "站牌已修复".into(),
                contacted_caller: true,
                solved: true,
            },
            bj(2026, 11, 5, 11),
        ),
        (
            supervisor(),
            EventKind::Reviewed {
                passed: true,
                note: "".into(),
            },
            bj(2026, 11, 5, 14),
        ),
        (
            agent(),
            EventKind::CallbackAttempt {
                reached: true,
                solved: Some(true),
                satisfaction: Some(Satisfaction::VerySatisfied),
                unit_at_fault: false,
            },
            bj(2026, 11, 6, 10),
        ),
        (
            supervisor(),
            EventKind::Classified {
                category: "交通/公交设施".into(),
            },
            bj(2026, 11, 6, 11),
        ),
    ];
    for (actor, kind, at) in steps {
        svc.step(&no, actor, kind, at).await.expect("step");
    }
    let o = svc.load(&no).await.unwrap();
    assert_eq!(o.order.status, Status::Archived);
    assert_eq!(o.row.version, 8);
    assert_eq!(o.events.len(), 8);
    // A second order, still open, in the same month; one in December outside the period.
    dispatched(&svc, "l-2", bj(2026, 11, 20, 9), RequestType::Consultation).await;
    dispatched(&svc, "l-3", bj(2026, 12, 1, 9), RequestType::Consultation).await;

    let (per, all) = svc
        .kpis(bj(2026, 11, 1, 0), bj(2026, 12, 1, 0))
        .await
        .unwrap();
    let unit = &per["市交通局"];
    assert_eq!(unit.dispatched, 2);
    assert_eq!(unit.signed, 1);
    assert_eq!(unit.replied_on_time, 1);
    assert_eq!(unit.called_back, 1);
    assert_eq!(unit.satisfied, 1);
    assert_eq!(unit.satisfaction_rate(), Some(1.0));
    assert_eq!(unit.on_time_completion(), Some(1.0));
    // The store's sums are exactly what replaying the orders gives.
    let mut replayed = Kpis::default();
    for id in ["l-1", "l-2"] {
        let row = svc.store().order_by_record(id).await.unwrap().unwrap();
        replayed.merge(&Kpis::from_order(&svc.load(&row.no).await.unwrap().order));
    }
    assert_eq!(*unit, replayed);
    assert_eq!(all, replayed);
    assert!(matches!(
        svc.kpis(bj(2026, 11, 2, 0), bj(2026, 11, 1, 0)).await,
        Err(ServiceError::Invalid(_))
    ));
}

async fn a_refused_step_writes_nothing(db: TestDb) {
    let svc = service(&db, settings()).await;
    let no = dispatched(&svc, "r-1", bj(2026, 11, 2, 9), RequestType::Help).await;
    let before = svc.load(&no).await.unwrap();
    // Another unit cannot sign (to it the order is not there); the center cannot sign for the
    // unit; a reply before signing is the wrong status; an unknown unit.
    let e = svc
        .step(
            &no,
            staff("市生态环境局"),
            EventKind::SignedFor,
            bj(2026, 11, 2, 10),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::NotFound(_)), "{e}");
    let e = svc
        .step(&no, supervisor(), EventKind::SignedFor, bj(2026, 11, 2, 10))
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e}");
    let e = svc
        .step(
            &no,
            staff("市交通局"),
            EventKind::Replied {
                internal: "x".into(),
                public: "x".into(),
                contacted_caller: false,
                solved: false,
            },
            bj(2026, 11, 2, 10),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Step(_)), "{e}");
    let e = svc
        .step(
            &no,
            supervisor(),
            EventKind::Reassigned {
                lead: "市不存在局".into(),
                co: vec![],
                card: "x".into(),
            },
            bj(2026, 11, 2, 10),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a known handling unit"), "{e}");
    let after = svc.load(&no).await.unwrap();
    assert_eq!(after.row, before.row);
    assert_eq!(after.events, before.events);
    assert!(
        svc.store()
            .outbox_items(Some(&no), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_steps_one_wins_the_other_is_refused_on_the_fresh_state(db: TestDb) {
    let svc = service(&db, settings()).await;
    let no = dispatched(&svc, "k-1", bj(2026, 11, 2, 9), RequestType::Help).await;
    let at = bj(2026, 11, 2, 10);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let svc = svc.clone();
            let no = no.clone();
            tokio::spawn(async move {
                svc.step(&no, staff("市交通局"), EventKind::SignedFor, at)
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            // The losers re-checked on the signed order: signing twice is the wrong status.
            Err(ServiceError::Step(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1);
    let o = svc.load(&no).await.unwrap();
    assert_eq!(o.row.version, 4);
    assert_eq!(o.order.signs, 1);
}

/// Answers every request with `status`, counting them.
async fn webhook_server(status: u16) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then Content-Length bytes of body.
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if body.len() >= len {
                            let _ = tx.send(body.to_string());
                            break;
                        }
                    }
                }
                let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, rx)
}

async fn a_month_of_the_scheduler_with_notifications_delivered(db: TestDb) {
    let (good, mut posted) = webhook_server(200).await;
    let (bad, _) = webhook_server(500).await;
    let mut s = settings();
    s.webhooks = vec![good, bad];
    let svc = service(&db, s).await;
    // Thu 2026-09-24 10:00, a request: 3 working days, due Sep 30 24:00 (National Day after).
    let no = dispatched(&svc, "m-1", bj(2026, 9, 24, 10), RequestType::Consultation).await;
    let replied = dispatched(&svc, "m-2", bj(2026, 9, 24, 10), RequestType::Consultation).await;
    svc.step(
        &replied,
        staff("市交通局"),
        EventKind::SignedFor,
        bj(2026, 9, 24, 11),
    )
    .await
    .unwrap();
    // An hourly clock; the second order's unit replies on the deadline day at 15:00.
    let mut checked = 0;
    let mut now = bj(2026, 9, 24, 12);
    let end = bj(2026, 10, 20, 0);
    while now < end {
        if now == bj(2026, 9, 30, 15) {
            svc.step(
                &replied,
                staff("市交通局"),
                EventKind::Replied {
                    internal: "ok".into(),
                    public: "ok".into(),
                    contacted_caller: true,
                    solved: true,
                },
                now,
            )
            .await
            .unwrap();
        }
        checked += svc.schedule(now).await.expect("pass").orders_checked;
        now += Duration::hours(1);
    }
    // A pass reads only the orders with something due: 5 steps in the month, 5 reads (not
    // two orders times 600 hourly passes).
    assert_eq!(checked, 5);
    let o = svc.load(&no).await.unwrap();
    let system: Vec<(String, DateTime<Utc>)> = o
        .events
        .iter()
        .filter(|e| e.actor.role == Role::System)
        .map(|e| (e.kind.name().to_string(), e.at))
        .collect();
    assert_eq!(
        system,
        [
            ("reminded".to_string(), bj(2026, 9, 30, 0)),
            ("reminded".to_string(), bj(2026, 10, 1, 1)),
            ("reminded".to_string(), bj(2026, 10, 9, 0)),
            ("criticism_flagged".to_string(), bj(2026, 10, 13, 0)),
        ]
    );
    assert_eq!((o.order.reminders, o.order.notices), (1, 2));
    assert!(o.order.criticized);
    // The order that was answered in time got its reminder and nothing else.
    let r = svc.load(&replied).await.unwrap();
    assert_eq!(
        (r.order.reminders, r.order.notices, r.order.criticized),
        (1, 0, false)
    );

    // Each step queued one SMS to the unit's number and one POST per webhook.
    let items = svc.store().outbox_items(Some(&no), 100).await.unwrap();
    assert_eq!(items.len(), 4 * 3);
    let sms: Vec<_> = items.iter().filter(|i| i.channel == "sms").collect();
    assert_eq!(sms.len(), 4);
    assert!(sms.iter().all(|i| i.target == "13900000001"));
    assert!(sms.iter().any(|i| i.body.contains("催办通知书")), "{sms:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sms.jsonl");
    let out = Outbox {
        sms: SmsSink::File(file.clone()),
        retry: Duration::seconds(60),
        timeout: std::time::Duration::from_secs(5),
    };
    let d = out.pass(svc.store(), end, 100).await.unwrap();
    // 5 SMS (4 + the replied order's reminder), 5 good POSTs; the 5 to the failing hook wait.
    assert_eq!((d.sent, d.failed), (10, 5));
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 5);
    assert!(lines.contains("13900000001"));
    let mut bodies = Vec::new();
    while let Ok(b) = posted.try_recv() {
        bodies.push(b);
    }
    assert_eq!(bodies.len(), 5);
    let v: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(v["unit"], "市交通局");
    // Nothing is due again until the retry time; then the failures are tried again.
    assert_eq!(out.pass(svc.store(), end, 100).await.unwrap().failed, 0);
    let d = out
        .pass(svc.store(), end + Duration::seconds(61), 100)
        .await
        .unwrap();
    assert_eq!((d.sent, d.failed), (0, 5));
    let failed: Vec<_> = svc
        .store()
        .outbox_items(Some(&no), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.sent_at.is_none())
        .collect();
    assert!(failed.iter().all(|i| {
        i.attempts == 2
            && i.last_error
                .as_deref()
                .is_some_and(|e| e.contains("HTTP 500"))
    }));
}

async fn log_in_tokens_expire_and_log_out(db: TestDb) {
    let store = Store::connect(&db.url).await.unwrap();
    let now = bj(2026, 12, 1, 9);
    store
        .put_user(&UserRow {
            id: "jtj".into(),
            name: "交通局办事员".into(),
            role: "unit_staff".into(),
            unit: Some("市交通局".into()),
            password_hash: auth::hash_password("correct horse").unwrap(),
            disabled: false,
            created_at: now,
        })
        .await
        .unwrap();
    let ttl = Duration::hours(8);
    for (user, pw) in [("jtj", "wrong"), ("nobody", "correct horse")] {
        let e = auth::log_in(&store, user, pw, now, ttl).await.unwrap_err();
        assert!(matches!(e, ServiceError::Unauthorized(_)), "{e}");
    }
    let (token, p) = auth::log_in(&store, "jtj", "correct horse", now, ttl)
        .await
        .unwrap();
    assert_eq!(p.role, Role::UnitStaff("市交通局".into()));
    assert_eq!(token.len(), 64);
    let seen = auth::principal(&store, &token, now + Duration::hours(7))
        .await
        .unwrap();
    assert_eq!(seen.user, "jtj");
    assert_eq!(seen.expires_at, now + ttl);
    assert!(auth::principal(&store, &token, now + ttl).await.is_err());
    assert!(auth::principal(&store, "not-a-token", now).await.is_err());
    // The stored key is the token's hash, not the token.
    assert!(store.session(&token).await.unwrap().is_none());
    let (t2, _) = auth::log_in(&store, "jtj", "correct horse", now, ttl)
        .await
        .unwrap();
    assert!(auth::log_out(&store, &t2).await.unwrap());
    assert!(auth::principal(&store, &t2, now).await.is_err());
}

async fn calendar_overrides_move_deadlines(db: TestDb) {
    let svc = service(&db, settings()).await;
    let now = bj(2026, 11, 2, 8);
    let row = |d: (i32, u32, u32), working: bool| CalendarOverrideRow {
        date: chrono::NaiveDate::from_ymd_opt(d.0, d.1, d.2).unwrap(),
        working,
        note: "台风停工".into(),
        set_by: "admin".into(),
        set_at: now,
    };
    // The past is refused: steps were checked against it.
    let e = svc
        .set_calendar_override(row((2026, 10, 30), false), now)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("in the past"), "{e}");
    // Wed Nov 4 off: a request dispatched Mon Nov 2 counts Nov 3, 5 and 6, so it is due Fri
    // Nov 6 24:00 instead of Thu Nov 5 24:00.
    svc.set_calendar_override(row((2026, 11, 4), false), now)
        .await
        .unwrap();
    let no = dispatched(&svc, "o-1", bj(2026, 11, 2, 9), RequestType::Help).await;
    assert_eq!(
        svc.load(&no).await.unwrap().row.due_at,
        Some(bj(2026, 11, 7, 0))
    );
    // A fresh service (a restart) loads the override from the database.
    let again = service(&db, settings()).await;
    again.reload_calendar().await.unwrap();
    assert_eq!(
        again.load(&no).await.unwrap().order.due_at,
        Some(bj(2026, 11, 7, 0))
    );
    assert!(
        again
            .delete_calendar_override(row((2026, 11, 4), false).date, now)
            .await
            .unwrap()
    );
    assert_eq!(
        again.load(&no).await.unwrap().order.due_at,
        Some(bj(2026, 11, 6, 0))
    );
}
