//! A set of dialplans: which one a call uses (numbers win over modes), and the checks across
//! files (a mode, number or name claimed twice), loading from a directory.

mod common;

use common::{calendar, catalog, line};
use hotline_ivr::{DialplanError, DialplanSet, LineVars, LoadContext};

const HOTLINE: &str = "[dialplan]\nname = \"main\"\nmodes = [\"hotline\", \"direct-merge\"]\nentry = \"start\"\n\n[node.start]\naction = \"queue\"\ngroup = \"default\"\n";
const SPECIAL: &str = "[dialplan]\nname = \"special\"\nnumbers = [\"12312\"]\nentry = \"start\"\n\n[node.start]\naction = \"queue\"\ngroup = \"commerce\"\n";

fn load(files: &[(&str, &str)], lines: &[LineVars]) -> Result<DialplanSet, Vec<String>> {
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines,
        calendar: calendar(),
    };
    DialplanSet::from_strs(files, &ctx).map_err(|e| e.messages())
}

#[test]
fn numbers_win_over_modes() {
    let set = load(&[("main.toml", HOTLINE), ("special.toml", SPECIAL)], &[]).expect("loads");
    let name = |dialed, mode| set.select(dialed, mode).map(|p| p.name().to_owned());
    assert_eq!(name("12345", Some("hotline")).as_deref(), Some("main"));
    assert_eq!(name("12351", Some("direct-merge")).as_deref(), Some("main"));
    assert_eq!(
        name("12312", Some("direct-merge")).as_deref(),
        Some("special")
    );
    // A number listed by a dialplan needs no line at all.
    assert_eq!(name("12312", None).as_deref(), Some("special"));
    assert_eq!(name("110", Some("emergency")), None);
    assert_eq!(name("110", None), None);
    assert_eq!(set.len(), 2);
    assert_eq!(set.get("special").map(|p| p.source()), Some("special.toml"));
}

#[test]
fn a_mode_claimed_twice_names_both_files() {
    let other = "[dialplan]\nname = \"other\"\nmodes = [\"remote-seat\", \"hotline\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(
        load(&[("a.toml", HOTLINE), ("b.toml", other)], &[]).err(),
        Some(vec![
            "b.toml:3:25: dialplan.modes[1]: mode `hotline` is also claimed by a.toml:3:10"
                .to_owned()
        ])
    );
}

#[test]
fn a_number_or_name_claimed_twice_names_both_files() {
    let again = "[dialplan]\nname = \"main\"\nnumbers = [\"12312\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    assert_eq!(
        load(
            &[
                ("main.toml", HOTLINE),
                ("special.toml", SPECIAL),
                ("z.toml", again)
            ],
            &[]
        )
        .err(),
        Some(vec![
            "z.toml:2:1: dialplan.name: dialplan name `main` is also used by main.toml:2:1"
                .to_owned(),
            "z.toml:3:12: dialplan.numbers[0]: number `12312` is also claimed by special.toml:3:12"
                .to_owned(),
        ])
    );
}

#[test]
fn prompts_are_checked_in_the_dialplan_that_serves_the_line() {
    let guidance = "[dialplan]\nname = \"guidance\"\nmodes = [\"guidance-only\"]\nentry = \"start\"\n\n[node.start]\naction = \"play\"\nprompts = [\"guidance-${line.number}\"]\nnext = \"bye\"\n\n[node.bye]\naction = \"hangup\"\n";
    let own = "[dialplan]\nname = \"own\"\nnumbers = [\"12399\"]\nentry = \"start\"\n\n[node.start]\naction = \"hangup\"\n";
    let lines = [
        line("12339", "guidance-only"),
        line("12399", "guidance-only"),
    ];
    // There is no guidance-12399, but 12399 has a dialplan of its own.
    assert!(load(&[("g.toml", guidance), ("own.toml", own)], &lines).is_ok());
    assert_eq!(
        load(&[("g.toml", guidance)], &lines).err(),
        Some(vec![
            "g.toml:8:12: node.start.prompts[0]: prompt `guidance-12399` does not exist (expanded for line 12399)".to_owned()
        ])
    );
}

#[test]
fn every_file_is_reported_in_order() {
    let broken = "[dialplan]\nname = \"broken\"\nmodes = [\"emergency\"]\nentry = \"nowhere\"\n\n[node.start]\naction = \"hangup\"\n";
    let syntax = "[dialplan\nname = 1\n";
    let errs = load(&[("1.toml", broken), ("2.toml", syntax)], &[]).expect_err("fails");
    // With no entry node, reachability is not judged: every node would be "unreachable".
    assert_eq!(
        errs,
        [
            "1.toml:4:1: dialplan.entry: no node named `nowhere`",
            "2.toml:1:10: unclosed table, expected `]`",
        ]
    );
}

#[test]
fn load_dir_reads_the_toml_files_in_name_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("b.toml"), SPECIAL).expect("write");
    std::fs::write(dir.path().join("a.toml"), HOTLINE).expect("write");
    std::fs::write(dir.path().join("README.md"), "not a dialplan = [").expect("write");
    std::fs::create_dir(dir.path().join("prompts.toml")).expect("a directory named like a file");
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines: &[],
        calendar: calendar(),
    };
    let set = DialplanSet::load_dir(dir.path(), &ctx).expect("loads");
    let names: Vec<&str> = set.plans().iter().map(|p| p.name()).collect();
    assert_eq!(names, ["main", "special"]);
    assert_eq!(
        set.plans()[0].source(),
        dir.path().join("a.toml").display().to_string()
    );

    // The first file keeps a claim; errors name files by path.
    std::fs::write(dir.path().join("c.toml"), HOTLINE.replace("main", "copy")).expect("write");
    let errs = DialplanSet::load_dir(dir.path(), &ctx).expect_err("clash");
    let c = dir.path().join("c.toml").display().to_string();
    let a = dir.path().join("a.toml").display().to_string();
    assert_eq!(
        errs.messages(),
        [
            format!("{c}:3:10: dialplan.modes[0]: mode `hotline` is also claimed by {a}:3:10"),
            format!("{c}:3:21: dialplan.modes[1]: mode `direct-merge` is also claimed by {a}:3:21"),
        ]
    );
}

#[test]
fn a_missing_directory_is_a_read_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("dialplans");
    let catalog = catalog();
    let ctx = LoadContext {
        prompts: &catalog,
        lines: &[],
        calendar: calendar(),
    };
    let errs = DialplanSet::load_dir(&missing, &ctx).expect_err("no directory");
    assert!(
        matches!(errs.as_slice(), [DialplanError::Read { path, .. }] if *path == missing.display().to_string()),
        "{errs}"
    );
}
