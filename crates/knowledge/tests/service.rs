//! The knowledge-base service on a real database (SQLite and PostgreSQL) with a real index,
//! driven by a manual clock: the review workflow with its roles, refusals that write nothing,
//! concurrent reviews, batch import all or nothing, the index rebuilt when stale, suggestions
//! in force on the day, answers linked to orders with their hits and the direct-answer rate.

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::TestDb;
use hotline_calendar::Calendar;
use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};
use hotline_kb::{Actor, Entry, EntryKind, Format, KbRole, Step, Validity, VersionState, to_json};
use hotline_kb_search::{Lexicon, Query, SearchIndex};
use hotline_knowledge::{KbError, KbService};
use hotline_orders::{OrderService, Settings};
use hotline_store::Store;
use hotline_workorder::{
    Actor as OrderActor, EventKind, Intake, RequestType, Requester, Role, Urgency,
};

on_both_backends!(
    an_entry_goes_from_draft_to_published_to_retired_and_search_follows,
    a_refused_step_writes_nothing,
    concurrent_reviews_one_wins_the_other_is_refused_on_the_fresh_state,
    an_import_is_all_or_nothing_and_a_unit_imports_for_review,
    a_stale_index_is_rebuilt_at_start_and_a_current_one_is_kept,
    suggestions_are_the_entries_in_force_on_the_day_with_why_they_matched,
    answers_linked_to_orders_count_hits_and_the_direct_answer_rate,
    an_export_imports_back_into_an_empty_knowledge_base,
);

fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap() + Duration::hours(h)
}

async fn service(db: &TestDb) -> KbService {
    let store = Store::connect(&db.url).await.expect("connect");
    let index = SearchIndex::in_memory(Lexicon::default_set()).expect("index");
    KbService::new(store, index)
}

fn maintainer() -> Actor {
    Actor {
        id: "kb1".into(),
        role: KbRole::Maintainer,
    }
}

fn editor(unit: &str) -> Actor {
    Actor {
        id: format!("ed-{unit}"),
        role: KbRole::UnitEditor(unit.into()),
    }
}

fn heating() -> Entry {
    Entry {
        kind: EntryKind::Everyday,
        category: "城乡建设/供暖".into(),
        title: "暖气不热怎么办？".into(),
        body: "先请小区供热站排查；仍不热的，拨打市热力公司服务电话 2860001 报修。".into(),
        unit: "市热力公司".into(),
        keywords: vec!["暖气".into(), "供暖".into()],
        validity: Validity::default(),
    }
}

fn fund() -> Entry {
    Entry {
        kind: EntryKind::Guide,
        category: "住房/公积金".into(),
        title: "住房公积金提取还房贷".into(),
        body: "缴存职工偿还购房贷款本息的，可凭借款合同到公积金中心提取。".into(),
        unit: "市住房公积金管理中心".into(),
        keywords: vec!["公积金".into(), "提取".into()],
        validity: Validity::default(),
    }
}

fn query(text: &str) -> Query {
    Query {
        limit: 5,
        ..Query::text(text)
    }
}

async fn top_ids(kb: &KbService, text: &str) -> Vec<String> {
    kb.search(query(text))
        .await
        .expect("search")
        .into_iter()
        .map(|h| h.id)
        .collect()
}

async fn an_entry_goes_from_draft_to_published_to_retired_and_search_follows(db: TestDb) {
    let kb = service(&db).await;
    let unit = editor("市热力公司");
    let e = kb.create(&unit, heating(), at(0)).await.unwrap();
    assert_eq!(e.versions[0].state, VersionState::Draft);
    assert!(
        top_ids(&kb, "暖气").await.is_empty(),
        "a draft is not searchable"
    );
    kb.step(&e.id, &unit, &Step::Submit, at(1)).await.unwrap();
    let p = kb
        .step(&e.id, &maintainer(), &Step::Approve, at(2))
        .await
        .unwrap();
    assert_eq!(p.published().map(|v| v.n), Some(1));
    assert_eq!(top_ids(&kb, "暖气").await, vec![e.id.clone()]);

    // A second version: the first stays in force (and searchable) until it is approved.
    let mut v2 = heating();
    v2.body = "供暖期内室温低于18度的，拨打市热力公司 2860001，24小时内上门测温。".into();
    kb.step(&e.id, &unit, &Step::Draft { entry: v2 }, at(3))
        .await
        .unwrap();
    kb.step(&e.id, &unit, &Step::Submit, at(4)).await.unwrap();
    assert!(top_ids(&kb, "测温").await.is_empty());
    assert_eq!(top_ids(&kb, "排查").await, vec![e.id.clone()]);
    let p = kb
        .step(&e.id, &maintainer(), &Step::Approve, at(5))
        .await
        .unwrap();
    assert_eq!(p.published().map(|v| v.n), Some(2));
    assert_eq!(p.versions[0].state, VersionState::Superseded);
    assert_eq!(top_ids(&kb, "测温").await, vec![e.id.clone()]);
    assert!(
        top_ids(&kb, "排查").await.is_empty(),
        "the old text is gone"
    );

    let reason = "供暖季结束".to_string();
    kb.step(&e.id, &unit, &Step::Retire { reason }, at(6))
        .await
        .unwrap();
    assert!(
        top_ids(&kb, "暖气").await.is_empty(),
        "retired: not searchable"
    );
    // Every version is kept; an agent sees none once nothing is in force.
    let all = kb.entry(&e.id, &maintainer()).await.unwrap();
    assert_eq!(all.versions.len(), 2);
    let reader = Actor {
        id: "1001".into(),
        role: KbRole::Reader,
    };
    assert!(matches!(
        kb.entry(&e.id, &reader).await,
        Err(KbError::NotFound(_))
    ));
}

async fn a_refused_step_writes_nothing(db: TestDb) {
    let kb = service(&db).await;
    let unit = editor("市热力公司");
    let e = kb.create(&unit, heating(), at(0)).await.unwrap();
    kb.step(&e.id, &unit, &Step::Submit, at(1)).await.unwrap();
    let before = kb.entry(&e.id, &maintainer()).await.unwrap();
    // A unit may not approve, another unit may not touch it, a reader may not draft.
    assert!(matches!(
        kb.step(&e.id, &unit, &Step::Approve, at(2)).await,
        Err(KbError::Forbidden(_))
    ));
    assert!(matches!(
        kb.step(
            &e.id,
            &editor("市住建局"),
            &Step::Retire { reason: "x".into() },
            at(2)
        )
        .await,
        Err(KbError::Forbidden(_))
    ));
    let reader = Actor {
        id: "1001".into(),
        role: KbRole::Reader,
    };
    assert!(matches!(
        kb.create(&reader, fund(), at(2)).await,
        Err(KbError::Forbidden(_))
    ));
    // Not possible now, or bad content: refused with the reason.
    assert!(matches!(
        kb.step(&e.id, &unit, &Step::Submit, at(2)).await,
        Err(KbError::Step(_))
    ));
    let mut bad = heating();
    bad.title = " ".into();
    assert!(matches!(
        kb.step(&e.id, &unit, &Step::Edit { entry: bad }, at(2))
            .await,
        Err(KbError::Step(_))
    ));
    assert!(matches!(
        kb.step("KB-NOPE", &unit, &Step::Submit, at(2)).await,
        Err(KbError::NotFound(_))
    ));
    assert_eq!(kb.entry(&e.id, &maintainer()).await.unwrap(), before);
    assert!(top_ids(&kb, "暖气").await.is_empty());
}

async fn concurrent_reviews_one_wins_the_other_is_refused_on_the_fresh_state(db: TestDb) {
    let kb = std::sync::Arc::new(service(&db).await);
    let unit = editor("市热力公司");
    let e = kb.create(&unit, heating(), at(0)).await.unwrap();
    kb.step(&e.id, &unit, &Step::Submit, at(1)).await.unwrap();
    let a = {
        let kb = kb.clone();
        let id = e.id.clone();
        tokio::spawn(async move { kb.step(&id, &maintainer(), &Step::Approve, at(2)).await })
    };
    let b = {
        let kb = kb.clone();
        let id = e.id.clone();
        tokio::spawn(async move {
            let reject = Step::Reject {
                reason: "电话号码写错".into(),
            };
            kb.step(&id, &maintainer(), &reject, at(2)).await
        })
    };
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = if a.is_ok() { &b } else { &a };
    assert!(matches!(loser, Err(KbError::Step(_))), "{loser:?}");
    let stored = kb.entry(&e.id, &maintainer()).await.unwrap();
    assert_eq!(stored.rev, 3, "create, submit and exactly one review");
    let searchable = !top_ids(&kb, "暖气").await.is_empty();
    assert_eq!(searchable, a.is_ok(), "the index follows the winner");
}

fn csv(rows: &[&str]) -> String {
    let mut s = "kind,category,title,body,unit,keywords,valid_from,valid_to\n".to_string();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

async fn an_import_is_all_or_nothing_and_a_unit_imports_for_review(db: TestDb) {
    let kb = service(&db).await;
    let good = "日常咨询,城乡建设/供暖,暖气不热找谁？,先联系供热站再拨2860001,市热力公司,暖气,,";
    let bad = csv(&[
        good,
        "杂谈,城乡建设/供暖,问题二,答案,市热力公司,,,",
        "日常咨询,交通/公交,公交卡丢了怎么办？,到营业厅挂失,市公共交通总公司,,2027-13-01,",
    ]);
    let Err(KbError::Import(e)) = kb.import(&maintainer(), Format::Csv, &bad, at(0)).await else {
        panic!("a bad batch is refused");
    };
    let rows: Vec<(usize, &str)> = e.0.iter().map(|r| (r.row, r.field.as_str())).collect();
    assert_eq!(rows, [(3, "kind"), (4, "valid_from")]);
    assert!(
        kb.export(None).await.unwrap().is_empty(),
        "nothing half-imported"
    );

    // A unit's row for another unit is a row error too.
    let mixed = csv(&[
        good,
        "日常咨询,交通/公交,公交卡丢了怎么办？,到营业厅挂失,市公共交通总公司,,,",
    ]);
    let Err(KbError::Import(e)) = kb
        .import(&editor("市热力公司"), Format::Csv, &mixed, at(0))
        .await
    else {
        panic!("another unit's row is refused");
    };
    assert_eq!((e.0[0].row, e.0[0].field.as_str()), (3, "unit"));

    // A unit's good batch goes to review; the maintenance team's is published at once.
    let ids = kb
        .import(&editor("市热力公司"), Format::Csv, &csv(&[good]), at(1))
        .await
        .unwrap();
    let e = kb.entry(&ids[0], &maintainer()).await.unwrap();
    assert_eq!(e.versions[0].state, VersionState::InReview);
    assert!(top_ids(&kb, "暖气").await.is_empty());
    let ids = kb
        .import(&maintainer(), Format::Json, &to_json(&[fund()]), at(2))
        .await
        .unwrap();
    assert_eq!(top_ids(&kb, "公积金").await, ids);
}

async fn a_stale_index_is_rebuilt_at_start_and_a_current_one_is_kept(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let open = || SearchIndex::open_or_create(dir.path(), Lexicon::default_set()).unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    let kb = KbService::new(store.clone(), open());
    assert!(
        kb.sync_index().await.unwrap().is_some(),
        "a new index is built"
    );
    let heat = kb
        .import(&maintainer(), Format::Json, &to_json(&[heating()]), at(0))
        .await
        .unwrap();
    drop(kb);

    // Reopened over the same database: current, kept as it is.
    let kb = KbService::new(store.clone(), open());
    assert!(kb.sync_index().await.unwrap().is_none());
    assert_eq!(top_ids(&kb, "暖气").await, heat);
    drop(kb);

    // Another writer (another process, or a crash before the index update) changed the
    // database behind the index: the next start sees it is stale and rebuilds.
    let other = service(&db).await;
    let fund_ids = other
        .import(&maintainer(), Format::Json, &to_json(&[fund()]), at(1))
        .await
        .unwrap();
    let kb = KbService::new(store, open());
    assert!(kb.sync_index().await.unwrap().is_some(), "stale: rebuilt");
    assert_eq!(top_ids(&kb, "公积金").await, fund_ids);
    assert_eq!(top_ids(&kb, "暖气").await, heat);
}

async fn suggestions_are_the_entries_in_force_on_the_day_with_why_they_matched(db: TestDb) {
    let kb = service(&db).await;
    let mut winter = heating();
    winter.validity = Validity {
        from: NaiveDate::from_ymd_opt(2026, 11, 15),
        to: NaiveDate::from_ymd_opt(2027, 3, 15),
    };
    let ids = kb
        .import(
            &maintainer(),
            Format::Json,
            &to_json(&[winter, fund()]),
            at(0),
        )
        .await
        .unwrap();
    let text = "来电人反映盐湖区某小区家里暖气一直不热，已经好几天了，希望尽快处理";
    let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let hits = kb.suggest(text, day, 5).await.unwrap();
    assert_eq!(hits.first().map(|h| h.id.clone()), Some(ids[0].clone()));
    assert!(
        hits[0].matched.iter().any(|w| w == "暖气"),
        "{:?}",
        hits[0].matched
    );
    // Out of its season the entry is not suggested.
    let summer = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
    let hits = kb.suggest(text, summer, 5).await.unwrap();
    assert!(hits.iter().all(|h| h.id != ids[0]), "{hits:?}");
}

fn order_settings() -> Settings {
    Settings {
        number_prefix: "YC".into(),
        unit_sms: HashMap::new(),
        ..Settings::default()
    }
}

fn intake() -> Intake {
    Intake {
        request_type: RequestType::Consultation,
        category: "住房/公积金".into(),
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
        content: "咨询公积金提取还房贷".into(),
    }
}

async fn answers_linked_to_orders_count_hits_and_the_direct_answer_rate(db: TestDb) {
    let kb = service(&db).await;
    let store = Store::connect(&db.url).await.unwrap();
    let orders = OrderService::new(store, order_settings(), Calendar::embedded().unwrap());
    let agent = OrderActor {
        id: "1001".into(),
        role: Role::Agent,
    };
    let ids = kb
        .import(
            &maintainer(),
            Format::Json,
            &to_json(&[fund(), heating()]),
            at(0),
        )
        .await
        .unwrap();
    // Three answered calls: one answered from the knowledge base, one on the spot without
    // it, one still open.
    let mut nos = Vec::new();
    for i in 0..3 {
        let mut b = CallRecordBuilder::arrived(
            format!("rec-{i}"),
            format!("c{i}@10.0.0.1"),
            "13812341234",
            "12345",
            CallKind::Hotline,
            at(1),
        );
        b.answered(Some("1001".into()), at(1) + Duration::seconds(10));
        let rec = b.ended(EndReason::CallerHangup, 200, at(1) + Duration::seconds(120));
        nos.push(orders.draft(&rec).await.unwrap().no);
    }
    for no in &nos[..2] {
        orders
            .step(no, agent.clone(), EventKind::IntakeFilled(intake()), at(2))
            .await
            .unwrap();
        let answer = EventKind::AnsweredOnSpot {
            answer: "已按知识库答复".into(),
        };
        orders.step(no, agent.clone(), answer, at(2)).await.unwrap();
    }
    assert!(kb.link(&nos[0], &ids[0], &agent, at(2)).await.unwrap());
    assert!(
        !kb.link(&nos[0], &ids[0], &agent, at(2)).await.unwrap(),
        "once"
    );
    assert!(kb.link(&nos[2], &ids[0], &agent, at(3)).await.unwrap());
    let e = kb.entry(&ids[0], &maintainer()).await.unwrap();
    assert_eq!(e.hits, 2);
    let links = kb.links_of_order(&nos[0]).await.unwrap();
    assert_eq!((links.len(), links[0].version), (1, 1));

    // Only the center's staff link; the order and an entry in force must exist.
    let unit = OrderActor {
        id: "u1".into(),
        role: Role::UnitStaff("市住房公积金管理中心".into()),
    };
    assert!(matches!(
        kb.link(&nos[1], &ids[0], &unit, at(3)).await,
        Err(KbError::Forbidden(_))
    ));
    assert!(matches!(
        kb.link("YC-NONE", &ids[0], &agent, at(3)).await,
        Err(KbError::Invalid(_))
    ));
    kb.step(
        &ids[1],
        &maintainer(),
        &Step::Retire {
            reason: "停用".into(),
        },
        at(3),
    )
    .await
    .unwrap();
    assert!(matches!(
        kb.link(&nos[1], &ids[1], &agent, at(3)).await,
        Err(KbError::Invalid(_))
    ));

    let k = kb.kpis(at(0), at(24), 10).await.unwrap();
    assert_eq!(
        (k.orders, k.answered_on_spot, k.kb_linked, k.kb_answered),
        (3, 2, 2, 1)
    );
    assert_eq!(k.direct_answer_rate, Some(2.0 / 3.0));
    assert_eq!(k.kb_share_of_direct, Some(0.5));
    assert_eq!(k.top_entries.len(), 1);
    assert_eq!(
        (k.top_entries[0].id.as_str(), k.top_entries[0].hits),
        (ids[0].as_str(), 2)
    );
    // Another period counts nothing.
    let none = kb.kpis(at(48), at(72), 10).await.unwrap();
    assert_eq!((none.orders, none.direct_answer_rate), (0, None));
}

async fn an_export_imports_back_into_an_empty_knowledge_base(db: TestDb) {
    let kb = service(&db).await;
    let mut winter = heating();
    winter.validity.to = NaiveDate::from_ymd_opt(2027, 3, 15);
    kb.import(
        &maintainer(),
        Format::Json,
        &to_json(&[winter, fund()]),
        at(0),
    )
    .await
    .unwrap();
    let exported = kb.export(None).await.unwrap();
    assert_eq!(exported.len(), 2);
    let only = kb.export(Some("市热力公司")).await.unwrap();
    assert_eq!(only.len(), 1);
    // Into another database.
    let other_db = TestDb::sqlite();
    let other = service(&other_db).await;
    other
        .import(
            &maintainer(),
            Format::Csv,
            &hotline_kb::to_csv(&exported),
            at(1),
        )
        .await
        .unwrap();
    let mut back = other.export(None).await.unwrap();
    let mut want = exported.clone();
    back.sort_by(|a, b| a.title.cmp(&b.title));
    want.sort_by(|a, b| a.title.cmp(&b.title));
    assert_eq!(back, want);
}
