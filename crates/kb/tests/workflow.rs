//! The review workflow: who may do which step when, versions kept, the version in force.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hotline_kb::{
    Actor, Entry, EntryKind, KbRole, Step, StepError, Validity, Version, VersionState, apply, live,
    published,
};

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, h, 0, 0).unwrap()
}

fn editor(unit: &str) -> Actor {
    Actor {
        id: format!("{unit}-editor"),
        role: KbRole::UnitEditor(unit.into()),
    }
}

fn team() -> Actor {
    Actor {
        id: "kb-team".into(),
        role: KbRole::Maintainer,
    }
}

fn entry(body: &str) -> Entry {
    Entry {
        kind: EntryKind::Everyday,
        category: "城乡建设/供暖".into(),
        title: "暖气不热找谁？".into(),
        body: body.into(),
        unit: "市住建局".into(),
        keywords: vec!["暖气".into(), "供暖".into()],
        validity: Validity::default(),
    }
}

fn ok(v: &[Version], a: &Actor, s: Step, h: u32) -> Vec<Version> {
    apply(v, a, &s, t(h)).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn states(v: &[Version]) -> Vec<VersionState> {
    v.iter().map(|v| v.state).collect()
}

#[test]
fn draft_review_publish_and_a_second_version_supersedes_the_first() {
    let u = editor("市住建局");
    let v = ok(
        &[],
        &u,
        Step::Draft {
            entry: entry("拨打供热公司电话"),
        },
        9,
    );
    let v = ok(&v, &u, Step::Submit, 10);
    let v = ok(
        &v,
        &team(),
        Step::Reject {
            reason: "请写明电话号码".into(),
        },
        11,
    );
    assert_eq!(states(&v), [VersionState::Rejected]);
    assert_eq!(v[0].note.as_deref(), Some("请写明电话号码"));
    let v = ok(
        &v,
        &u,
        Step::Edit {
            entry: entry("拨打供热公司电话 0359-2666110"),
        },
        12,
    );
    let v = ok(&v, &u, Step::Submit, 13);
    let v = ok(&v, &team(), Step::Approve, 14);
    assert_eq!(states(&v), [VersionState::Published]);
    assert!(published(&v).unwrap().entry.body.contains("2666110"));

    // A new version is drafted beside the published one, which stays in force until approved.
    let v = ok(
        &v,
        &u,
        Step::Draft {
            entry: entry("新的供热热线 12345 转接"),
        },
        15,
    );
    assert_eq!(states(&v), [VersionState::Published, VersionState::Draft]);
    assert_eq!(published(&v).unwrap().n, 1);
    let v = ok(&v, &u, Step::Submit, 16);
    let v = ok(&v, &team(), Step::Approve, 17);
    assert_eq!(
        states(&v),
        [VersionState::Superseded, VersionState::Published]
    );
    assert_eq!(published(&v).unwrap().n, 2);
    // Retired: nothing in force, every version still there.
    let v = ok(
        &v,
        &u,
        Step::Retire {
            reason: "供暖季结束".into(),
        },
        18,
    );
    assert_eq!(
        states(&v),
        [VersionState::Superseded, VersionState::Retired]
    );
    assert!(published(&v).is_none());
    assert_eq!(v.len(), 2);
}

#[test]
fn each_unit_edits_only_its_own_entries_and_only_the_team_reviews() {
    let u = editor("市住建局");
    let other = editor("市交通局");
    let reader = Actor {
        id: "1001".into(),
        role: KbRole::Reader,
    };
    let e = apply(&[], &other, &Step::Draft { entry: entry("x") }, t(9)).unwrap_err();
    assert!(matches!(e, StepError::Forbidden(_)), "{e}");
    assert!(matches!(
        apply(&[], &reader, &Step::Draft { entry: entry("x") }, t(9)),
        Err(StepError::Forbidden(_))
    ));
    let v = ok(&[], &u, Step::Draft { entry: entry("x") }, 9);
    for s in [
        Step::Submit,
        Step::Edit { entry: entry("y") },
        Step::Retire { reason: "r".into() },
    ] {
        assert!(
            matches!(apply(&v, &other, &s, t(10)), Err(StepError::Forbidden(_))),
            "{s:?}"
        );
    }
    let v = ok(&v, &u, Step::Submit, 10);
    // The unit cannot approve its own entry.
    assert!(matches!(
        apply(&v, &u, &Step::Approve, t(11)),
        Err(StepError::Forbidden(_))
    ));
    // A version cannot move the entry to another unit, not even by the team.
    let mut moved = entry("x");
    moved.unit = "市交通局".into();
    let v = ok(
        &v,
        &team(),
        Step::Reject {
            reason: "改".into(),
        },
        11,
    );
    assert!(matches!(
        apply(&v, &team(), &Step::Edit { entry: moved }, t(12)),
        Err(StepError::Forbidden(_))
    ));
    // The team may edit any unit's entry.
    ok(
        &v,
        &team(),
        Step::Edit {
            entry: entry("由维护组修订"),
        },
        12,
    );
}

#[test]
fn steps_out_of_order_are_refused_and_change_nothing() {
    let u = editor("市住建局");
    let v = ok(&[], &u, Step::Draft { entry: entry("x") }, 9);
    let cases: Vec<(Step, &str)> = vec![
        (Step::Approve, "no version is in review"),
        (
            Step::Draft {
                entry: entry("again"),
            },
            "already open",
        ),
        (Step::Retire { reason: "r".into() }, "nothing is published"),
        (
            Step::Reject { reason: "r".into() },
            "no version is in review",
        ),
    ];
    for (s, why) in cases {
        let actor = if matches!(s, Step::Approve | Step::Reject { .. }) {
            team()
        } else {
            u.clone()
        };
        let e = apply(&v, &actor, &s, t(10)).unwrap_err();
        assert!(e.to_string().contains(why), "{s:?}: {e}");
    }
    let v = ok(&v, &u, Step::Submit, 10);
    assert!(
        apply(&v, &u, &Step::Submit, t(11))
            .unwrap_err()
            .to_string()
            .contains("no draft")
    );
    assert!(apply(&v, &team(), &Step::Reject { reason: " ".into() }, t(11)).is_err());
    let mut empty = entry("");
    empty.category = "城乡建设/".into();
    match apply(&[], &u, &Step::Draft { entry: empty }, t(9)) {
        Err(StepError::Invalid(p)) => {
            let fields: Vec<_> = p.iter().map(|(f, _)| *f).collect();
            assert_eq!(fields, ["body", "category"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_a_published_version_valid_on_the_day_is_live() {
    let u = editor("市住建局");
    let mut e = entry("2026-2027 供暖季：11月15日至次年3月15日");
    e.validity = Validity {
        from: NaiveDate::from_ymd_opt(2026, 11, 15),
        to: NaiveDate::from_ymd_opt(2027, 3, 15),
    };
    let v = ok(&[], &u, Step::Draft { entry: e }, 9);
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    assert!(live(&v, day(12, 1)).is_none(), "a draft is not live");
    let v = ok(&v, &u, Step::Submit, 10);
    let v = ok(&v, &team(), Step::Approve, 11);
    assert!(live(&v, day(11, 14)).is_none());
    assert_eq!(live(&v, day(11, 15)).map(|v| v.n), Some(1));
    assert!(live(&v, NaiveDate::from_ymd_opt(2027, 3, 16).unwrap()).is_none());
    let mut bad = entry("x");
    bad.validity = Validity {
        from: NaiveDate::from_ymd_opt(2027, 1, 2),
        to: NaiveDate::from_ymd_opt(2027, 1, 1),
    };
    assert!(
        apply(&v, &u, &Step::Draft { entry: bad }, t(12))
            .unwrap_err()
            .to_string()
            .contains("valid_to")
    );
}
