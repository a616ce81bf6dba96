//! The dialplans shipped in dialplans/*.toml: they load against the prompts they use and the
//! real annex lines of config/hotlines.toml, and each mode's flow ends where it should with no
//! key pressed.

mod common;

use std::collections::BTreeSet;

use common::{Driver, calendar, catalog, shipped_dir};
use hotline_config::{Hotlines, Mode, ModeKind};
use hotline_ivr::{Action, DialplanSet, LineVars, LoadContext, Outcome};

/// The annex lines, one LineVars per number, as the server builds them.
fn annex() -> Vec<LineVars> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/hotlines.toml");
    let text = std::fs::read_to_string(&path).expect("config/hotlines.toml");
    let hotlines = Hotlines::from_toml("hotlines.toml", &text).expect("the shipped annex loads");
    let mut out = Vec::new();
    for line in hotlines.lines() {
        let (mut target, mut trunk, mut guidance) = (String::new(), String::new(), String::new());
        match &line.mode {
            Mode::RemoteSeat { target: t } | Mode::Interconnect { target: t } => {
                target = t.to_string();
            }
            Mode::Emergency { trunk: t } => trunk = t.to_string(),
            Mode::GuidanceOnly { guidance: g } => guidance = g.clone(),
            _ => {}
        }
        for number in &line.numbers {
            out.push(LineVars {
                number: number.clone(),
                unit: line.unit.clone(),
                mode: line.kind().as_str().to_owned(),
                target: target.clone(),
                trunk: trunk.clone(),
                guidance: guidance.clone(),
                retired: false,
            });
        }
    }
    out
}

fn has_shipped_files() -> bool {
    std::fs::read_dir(shipped_dir()).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    })
}

fn load(lines: &[LineVars]) -> DialplanSet {
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines,
        calendar: calendar(),
    };
    DialplanSet::load_dir(shipped_dir(), &ctx).unwrap_or_else(|e| panic!("shipped dialplans:\n{e}"))
}

#[test]
fn the_mode_names_are_those_of_the_annex() {
    // Every mode hotlines.toml can have is one a dialplan may claim.
    for kind in ModeKind::ALL {
        let text = format!(
            "[dialplan]\nname = \"m\"\nmodes = [\"{kind}\"]\nentry = \"x\"\n\n[node.x]\naction = \"hangup\"\n"
        );
        assert_eq!(common::errors(&text), Vec::<String>::new(), "{kind}");
    }
}

#[test]
fn the_shipped_dialplans_load_for_every_annex_line() {
    if !has_shipped_files() {
        eprintln!("no dialplans/*.toml: nothing to check");
        return;
    }
    let lines = annex();
    let set = load(&lines);
    // Every line that is not an emergency one (T5, transferred by the SIP layer) has a flow.
    for line in &lines {
        let plan = set.select(&line.number, Some(&line.mode));
        if line.mode != "emergency" {
            assert!(
                plan.is_some(),
                "no dialplan for {} ({})",
                line.number,
                line.mode
            );
        }
    }
}

#[test]
fn the_shipped_prompts_are_in_the_prompt_catalog() {
    let catalog_file = shipped_dir().join("prompts/zh/prompts.toml");
    let Ok(text) = std::fs::read_to_string(&catalog_file) else {
        eprintln!("no {}: nothing to check", catalog_file.display());
        return;
    };
    let table: toml::Table = toml::from_str(&text).expect("prompts.toml is TOML");
    let names: BTreeSet<String> = table
        .get("prompt")
        .and_then(|p| p.as_table())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for name in catalog() {
        assert!(
            names.contains(&name),
            "{name} is not in {}",
            catalog_file.display()
        );
    }
    if has_shipped_files() {
        let lines = annex();
        let ctx = LoadContext {
            prompts: &names,
            lines: &lines,
            calendar: calendar(),
        };
        if let Err(e) = DialplanSet::load_dir(shipped_dir(), &ctx) {
            panic!("against {}:\n{e}", catalog_file.display());
        }
    }
}

fn call(set: &DialplanSet, line: &LineVars) -> Driver {
    let plan = set
        .select(&line.number, Some(&line.mode))
        .unwrap_or_else(|| panic!("a dialplan for {}", line.number));
    Driver::call(plan.clone(), line)
}

#[test]
fn with_no_key_12345_and_merged_lines_reach_a_seat() {
    if !has_shipped_files() {
        return;
    }
    let lines = annex();
    let set = load(&lines);
    for line in lines
        .iter()
        .filter(|l| l.mode == "hotline" || l.mode == "direct-merge")
    {
        for retired in [false, true] {
            let line = LineVars {
                retired,
                ..line.clone()
            };
            let mut d = call(&set, &line);
            let outcome = d.run_to_end().clone();
            assert!(
                matches!(outcome, Outcome::Queued { .. }),
                "{} retired={retired}: {outcome:?} via {}",
                line.number,
                d.route()
            );
            let plays = d.plays();
            assert_eq!(
                plays.first().map(String::as_str) == Some("retired"),
                retired,
                "{plays:?}"
            );
            assert!(plays.iter().any(|p| p == "greeting"), "{plays:?}");
        }
    }
}

#[test]
fn each_menu_choice_of_12345_has_its_own_node() {
    if !has_shipped_files() {
        return;
    }
    let set = load(&[]);
    let hotline = common::line("12345", "hotline");
    let mut nodes = BTreeSet::new();
    for key in ['1', '2', '3', '0'] {
        let mut d = call(&set, &hotline);
        // A key during the greeting counts as the menu choice.
        d.digit(key);
        d.run_to_end();
        assert!(
            matches!(d.call.outcome(), Some(Outcome::Queued { .. })),
            "{key}: {}",
            d.route()
        );
        let last = d.call.route().last().expect("a route").node.clone();
        nodes.insert(last);
    }
    assert_eq!(nodes.len(), 4, "{nodes:?}");
}

#[test]
fn remote_seats_and_utilities_ring_their_target_alongside_the_queue() {
    if !has_shipped_files() {
        return;
    }
    let lines = annex();
    let set = load(&lines);
    let mut checked = 0;
    for line in lines
        .iter()
        .filter(|l| l.mode == "remote-seat" || l.mode == "interconnect")
    {
        let mut d = call(&set, line);
        d.run_to_end();
        let queue = d.actions.iter().find_map(|a| match a {
            Action::Queue { also_ring, .. } => Some(also_ring.clone()),
            _ => None,
        });
        assert_eq!(queue, Some(Some(line.target.clone())), "{}", line.number);
        checked += 1;
    }
    assert_eq!(
        checked,
        20 + 19,
        "numbers of remote seats and interconnected lines"
    );
}

#[test]
fn guidance_numbers_hear_their_guidance_then_goodbye() {
    if !has_shipped_files() {
        return;
    }
    let lines = annex();
    let set = load(&lines);
    let guidance: Vec<&LineVars> = lines.iter().filter(|l| l.mode == "guidance-only").collect();
    assert_eq!(guidance.len(), common::GUIDANCE_NUMBERS.len());
    for line in guidance {
        let mut d = call(&set, line);
        assert_eq!(d.run_to_end(), &Outcome::HungUp, "{}", line.number);
        assert_eq!(
            d.plays(),
            [format!("guidance-{}", line.number), "goodbye".to_owned()]
        );
        assert_eq!(d.actions.last(), Some(&Action::Hangup));
    }
}
