//! The lifecycle tests' driver: a case stepped like the API does, actors, forms.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use hotline_calendar::Calendar;
use hotline_workorder::{
    Actor, Event, EventKind, Intake, RequestType, Requester, Role, Rules, Satisfaction, StepError,
    Urgency, WorkOrder,
};

/// Beijing wall time as UTC.
pub fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// 24:00 Beijing of that date.
pub fn end_of(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    bj(y, m, d, 0) + chrono::Duration::days(1)
}

pub fn agent() -> Actor {
    Actor {
        id: "1001".into(),
        role: Role::Agent,
    }
}
pub fn supervisor() -> Actor {
    Actor {
        id: "s1".into(),
        role: Role::Supervisor,
    }
}
pub fn staff(unit: &str) -> Actor {
    Actor {
        id: format!("{unit}-staff"),
        role: Role::UnitStaff(unit.into()),
    }
}
pub fn head(unit: &str) -> Actor {
    Actor {
        id: format!("{unit}-head"),
        role: Role::UnitHead(unit.into()),
    }
}
pub fn system() -> Actor {
    Actor {
        id: "scheduler".into(),
        role: Role::System,
    }
}

pub fn intake(t: RequestType) -> Intake {
    Intake {
        request_type: t,
        category: "城乡建设/供暖".into(),
        urgency: Urgency::Normal,
        requester: Requester {
            name: Some("张三".into()),
            phone: Some("13812341234".into()),
            id_card: Some("110105199001011234".into()),
            anonymous: false,
            confidential: false,
        },
        address: "和平路 1 号".into(),
        area: "市南区".into(),
        content: "小区暖气不热".into(),
    }
}

/// An order and its history, stepped like the API does.
pub struct Case {
    pub cal: Calendar,
    pub rules: Rules,
    pub order: WorkOrder,
    pub events: Vec<Event>,
}

impl Case {
    pub fn new(agent_id: Option<&str>, at: DateTime<Utc>) -> Case {
        let e = Event {
            at,
            actor: system(),
            kind: EventKind::Drafted {
                record: "rec-1".into(),
                agent: agent_id.map(str::to_string),
                caller: "13812341234".into(),
                line: None,
            },
        };
        Case {
            cal: Calendar::embedded().unwrap(),
            rules: Rules::default(),
            order: WorkOrder::from_draft(&e).unwrap(),
            events: vec![e],
        }
    }

    pub fn step(
        &mut self,
        at: DateTime<Utc>,
        actor: Actor,
        kind: EventKind,
    ) -> Result<(), StepError> {
        let e = Event { at, actor, kind };
        let before = self.order.clone();
        let r = self.order.apply(&e, &self.rules, &self.cal);
        match &r {
            Ok(()) => self.events.push(e),
            // A refused step changes nothing.
            Err(_) => assert_eq!(self.order, before),
        }
        r
    }

    pub fn ok(&mut self, at: DateTime<Utc>, actor: Actor, kind: EventKind) {
        if let Err(e) = self.step(at, actor, kind.clone()) {
            panic!("{kind:?} refused: {e}");
        }
    }

    /// The step must be refused (and, as `step` checks, change nothing): its error.
    pub fn refused(&mut self, at: DateTime<Utc>, actor: Actor, kind: EventKind) -> StepError {
        match self.step(at, actor, kind.clone()) {
            Ok(()) => panic!("{kind:?} was taken"),
            Err(e) => e,
        }
    }

    pub fn dispatched(t: RequestType, at: DateTime<Utc>) -> Case {
        let mut c = Case::new(Some("1001"), at);
        c.ok(at, agent(), EventKind::IntakeFilled(intake(t)));
        c.ok(at, agent(), dispatch("市住建局"));
        c
    }

    /// The state recomputed from the events equals the one stepped.
    pub fn check_replay(&self) {
        let again = WorkOrder::replay(&self.events, &self.rules, &self.cal).unwrap();
        assert_eq!(again, self.order);
    }
}

pub fn dispatch(lead: &str) -> EventKind {
    EventKind::Dispatched {
        lead: lead.into(),
        co: vec!["市城管局".into()],
        card: "转办单：小区暖气不热，请核查处理".into(),
    }
}

/// The center's review lets the reply through.
pub fn review_passed() -> EventKind {
    EventKind::Reviewed {
        passed: true,
        note: String::new(),
    }
}

pub fn reply() -> EventKind {
    EventKind::Replied {
        internal: "已联系热力公司排查".into(),
        public: "经查为管道故障，已修复".into(),
        contacted_caller: true,
        solved: true,
    }
}

pub fn callback(reached: bool, sat: Option<Satisfaction>, at_fault: bool) -> EventKind {
    EventKind::CallbackAttempt {
        reached,
        solved: sat.map(|s| s.is_satisfied()),
        satisfaction: sat,
        unit_at_fault: at_fault,
    }
}
