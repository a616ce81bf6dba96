//! The shipped config/hotline.toml and config/hotlines.toml: they load, they
//! equal the embedded defaults, and the annex is the notice's annex.

use std::path::PathBuf;

use chrono::NaiveDate;
use hotline_config::{
    Credentials, DEFAULT_CONFIG_TOML, EMBEDDED_HOTLINES_NAME, InviteAuth, Loaded, Mode, ModeKind,
    ha1_md5, ha1_sha256, load,
};

fn repo_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn shipped() -> Loaded {
    let path = repo_config().join("hotline.toml");
    match load(Some(&path), &[]) {
        Ok(l) => l,
        Err(e) => panic!("shipped config does not load:\n{e}"),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

#[test]
fn shipped_files_load_without_errors() {
    let l = shipped();
    assert_eq!(
        PathBuf::from(&l.hotlines_source),
        repo_config().join("hotlines.toml")
    );
    assert_eq!(l.config.sip.invite_auth, InviteAuth::Untrusted);
    assert_eq!(l.config.sip.realm, "hotline");
    let ids: Vec<&str> = l.config.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["1001", "1002", "1003"]);
}

#[test]
fn embedded_defaults_are_the_shipped_files() {
    let file_text = std::fs::read_to_string(repo_config().join("hotline.toml")).expect("read");
    assert_eq!(file_text, DEFAULT_CONFIG_TOML);

    let embedded = load(None, &[]).expect("embedded defaults load");
    let from_file = shipped();
    assert_eq!(embedded.config, from_file.config);
    assert_eq!(embedded.hotlines, from_file.hotlines);
    assert_eq!(embedded.hotlines_source, EMBEDDED_HOTLINES_NAME);
    assert_eq!(embedded.config_file, None);
}

#[test]
fn demo_agent_hashes_match_the_documented_passwords() {
    let l = shipped();
    for agent in &l.config.agents {
        let password = format!("demo{}", agent.id);
        let Credentials::Ha1(stored) = &agent.credentials else {
            panic!("agent {} should have HA1 values", agent.id);
        };
        assert_eq!(
            stored.md5.expose(),
            ha1_md5(&agent.id, "hotline", &password)
        );
        assert_eq!(
            stored.sha256.expose(),
            ha1_sha256(&agent.id, "hotline", &password)
        );
        assert_eq!(agent.ha1("hotline"), stored.clone());
        assert!(agent.in_group(&l.config.hotline.entry_group));
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let l = shipped();
    let debug = format!("{:?}", l.config);
    for agent in &l.config.agents {
        let h = agent.ha1("hotline");
        assert!(!debug.contains(h.md5.expose()));
        assert!(!debug.contains(h.sha256.expose()));
    }
    assert!(debug.contains("Secret(<redacted>)"));
}

/// (lines, numbers) per mode. The notice's annex headers say 7, 16, 19, 5
/// and 7 部: rows for remote seats, numbers for interconnection and guidance.
#[test]
fn annex_counts_per_mode_are_the_notices() {
    let h = shipped().hotlines;
    let count = |kind| {
        let lines: Vec<_> = h.lines_of(kind).collect();
        (
            lines.len(),
            lines.iter().map(|l| l.numbers.len()).sum::<usize>(),
        )
    };
    assert_eq!(count(ModeKind::Hotline), (1, 1));
    assert_eq!(count(ModeKind::DirectMerge), (7, 7));
    assert_eq!(count(ModeKind::RemoteSeat), (16, 20));
    assert_eq!(count(ModeKind::Interconnect), (17, 19));
    assert_eq!(count(ModeKind::Emergency), (5, 5));
    assert_eq!(count(ModeKind::GuidanceOnly), (6, 7));
    assert_eq!(h.lines().len(), 52);
}

#[test]
fn annex_numbers_are_the_notices() {
    let h = shipped().hotlines;
    let numbers = |kind| -> Vec<&str> {
        h.lines_of(kind)
            .flat_map(|l| l.numbers.iter().map(String::as_str))
            .collect()
    };
    assert_eq!(
        numbers(ModeKind::DirectMerge),
        [
            "2666110", "2085615", "12312", "12351", "12338", "12355", "96302"
        ]
    );
    assert_eq!(
        numbers(ModeKind::Emergency),
        ["110", "122", "12122", "119", "120"]
    );
    assert_eq!(
        numbers(ModeKind::GuidanceOnly),
        [
            "12339", "12388", "12309", "12368", "12380", "12371", "12310"
        ]
    );
    let market = h.lookup("12315").expect("12315");
    assert_eq!(market.unit, "市市场监管局");
    assert_eq!(
        market.numbers,
        ["12315", "12358", "12365", "12331", "12330"]
    );
    assert_eq!(h.hotline().numbers, ["12345"]);
}

#[test]
fn every_merged_number_looks_up_to_its_unit() {
    let h = shipped().hotlines;
    let merged = [
        ("2666110", "市创建办"),
        ("2085615", "市文旅局"),
        ("12312", "市商务局"),
        ("12351", "市总工会"),
        ("12338", "市妇联"),
        ("12355", "共青团"),
        ("96302", "市工信局"),
    ];
    for (number, unit) in merged {
        let line = h
            .lookup(number)
            .unwrap_or_else(|| panic!("{number} not found"));
        assert_eq!(line.unit, unit);
        assert_eq!(line.kind(), ModeKind::DirectMerge);
    }
    for line in h.lines() {
        for number in &line.numbers {
            assert_eq!(h.lookup(number), Some(line), "{number}");
        }
    }
    assert_eq!(h.lookup("99999"), None);
    assert_eq!(h.lookup(""), None);
    assert_eq!(h.lookup("12345").map(|l| l.kind()), Some(ModeKind::Hotline));
}

#[test]
fn per_mode_data_of_the_shipped_annex() {
    let h = shipped().hotlines;
    let Mode::RemoteSeat { target } = &h.lookup("12369").expect("12369").mode else {
        panic!("12369 is a remote seat");
    };
    assert_eq!(target.as_str(), "sip:12369@remote-seats.invalid");
    let Mode::Emergency { trunk } = &h.lookup("110").expect("110").mode else {
        panic!("110 is an emergency line");
    };
    assert_eq!(trunk.as_str(), "sip:110@emergency-trunk.invalid");
    let heating = h.lookup("2160001").expect("2160001");
    assert_eq!(heating.unit, "市热力公司");
    assert_eq!(heating.main_number(), "2860001");
    let zone = h.lookup("2561166").expect("2561166");
    assert_eq!(
        (zone.unit.as_str(), zone.company.as_deref()),
        ("运城开发区", Some("秋钰热力"))
    );
    let Mode::GuidanceOnly { guidance } = &h.lookup("12371").expect("12371").mode else {
        panic!("12371 is guidance only");
    };
    assert!(guidance.contains("12371"));
}

#[test]
fn transition_runs_six_months_from_the_cutover() {
    let h = shipped().hotlines;
    let line = h.lookup("12312").expect("12312");
    assert_eq!(
        line.mode,
        Mode::DirectMerge {
            cutover: date(2020, 1, 1),
            transition_end: date(2020, 7, 1),
        }
    );
    assert!(!h.is_in_transition(line, date(2019, 12, 31)));
    assert!(!line.is_retired(date(2019, 12, 31)));
    assert!(h.is_in_transition(line, date(2020, 1, 1)));
    assert!(h.is_in_transition(line, date(2020, 6, 30)));
    assert!(!line.is_retired(date(2020, 6, 30)));
    assert!(!h.is_in_transition(line, date(2020, 7, 1)));
    assert!(line.is_retired(date(2020, 7, 1)));
    assert!(line.is_retired(date(2025, 1, 1)));

    let remote = h.lookup("12366").expect("12366");
    assert!(!h.is_in_transition(remote, date(2020, 3, 1)));
    assert!(!remote.is_retired(date(2030, 1, 1)));
}
