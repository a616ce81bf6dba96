//! Every kind of mistake in hotline.toml is reported as
//! `file:line:column: key: message`, all of them in one round.

use std::path::PathBuf;

use hotline_config::{ConfigError, DEFAULT_HOTLINES_TOML, load};
use tempfile::TempDir;

/// A config directory holding `text` as hotline.toml next to the shipped
/// annex, so only the config under test can be wrong.
struct Dir {
    _dir: TempDir,
    config: PathBuf,
}

fn dir_with(text: &str) -> Dir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hotlines.toml"), DEFAULT_HOTLINES_TOML).expect("write");
    let config = dir.path().join("hotline.toml");
    std::fs::write(&config, text).expect("write");
    Dir { _dir: dir, config }
}

/// The rendered errors with the temp path replaced by `F`.
fn errors(text: &str) -> Vec<String> {
    let d = dir_with(text);
    let file = d.config.display().to_string();
    match load(Some(&d.config), &[]) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .messages()
            .into_iter()
            .map(|m| m.replace(&file, "F"))
            .collect(),
    }
}

const AGENT: &str = "[[agents]]\nid = \"1001\"\ngroups = [\"default\"]\npassword = \"pw\"\n";

#[test]
fn a_minimal_file_loads_over_the_defaults() {
    assert_eq!(errors(AGENT), Vec::<String>::new());
}

#[test]
fn a_file_without_agents_gets_no_demo_agents() {
    let d = dir_with("[log]\nfilter = \"debug\"\n");
    let loaded = load(Some(&d.config), &[]).expect("loads");
    assert!(loaded.config.agents.is_empty());
    assert_eq!(loaded.config.log.filter, "debug");
}

#[test]
fn unknown_top_level_key() {
    assert_eq!(
        errors(&format!("{AGENT}\n[sipp]\nudp = []\n")),
        [
            "F:6:2: sipp: unknown field `sipp`, expected one of `sip`, `registrar`, `http`, `database`, `hotline`, `media`, `ivr`, `acd`, `queues`, `agents`, `workorders`, `kb`, `insight`, `auth`, `users`, `units`, `log`"
        ]
    );
    assert_eq!(
        errors(&format!("colour = \"blue\"\n{AGENT}")),
        [
            "F:1:1: colour: unknown field `colour`, expected one of `sip`, `registrar`, `http`, `database`, `hotline`, `media`, `ivr`, `acd`, `queues`, `agents`, `workorders`, `kb`, `insight`, `auth`, `users`, `units`, `log`"
        ]
    );
}

#[test]
fn unknown_nested_keys() {
    assert_eq!(
        errors(&format!("[registrar]\nmax_expire = 10\n{AGENT}")),
        [
            "F:2:1: registrar.max_expire: unknown field `max_expire`, expected one of `min_expires`, `max_expires`, `default_expires`, `max_contacts`, `nonce_ttl_secs`"
        ]
    );
    assert_eq!(
        errors(&format!("{AGENT}pasword = \"x\"\n")),
        [
            "F:5:1: agents[0].pasword: unknown field `pasword`, expected one of `id`, `name`, `groups`, `skills`, `password`, `ha1_md5`, `ha1_sha256`"
        ]
    );
}

#[test]
fn unknown_variant() {
    assert_eq!(
        errors(&format!("[sip]\n\ninvite_auth = \"sometimes\"\n{AGENT}")),
        [
            "F:3:1: sip.invite_auth: unknown variant `sometimes`, expected one of `never`, `untrusted`, `always`"
        ]
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        errors(&format!(
            "[registrar]\nmax_contacts = \"ten\"\n[http]\nlisten = 8080\n{AGENT}"
        )),
        [
            "F:2:1: registrar.max_contacts: invalid type: string \"ten\", expected u32",
            "F:4:1: http.listen: invalid type: integer `8080`, expected socket address",
        ]
    );
    assert_eq!(
        errors(&format!("sip = 5\n{AGENT}")),
        ["F:1:1: sip: invalid type: integer `5`, expected struct Sip"]
    );
}

#[test]
fn bad_socket_addresses() {
    assert_eq!(
        errors(&format!(
            "[sip]\nudp = [\"127.0.0.1:5060\", \"localhost\"]\n[http]\nlisten = \"0.0.0.0\"\n{AGENT}"
        )),
        [
            "F:2:26: sip.udp[1]: invalid socket address syntax",
            "F:4:1: http.listen: invalid socket address syntax",
        ]
    );
}

#[test]
fn bad_cidr() {
    assert_eq!(
        errors(&format!(
            "[sip]\ntrusted_networks = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n{AGENT}"
        )),
        ["F:2:35: sip.trusted_networks[1]: invalid IP address syntax"]
    );
}

#[test]
fn duplicate_agent_ids() {
    assert_eq!(
        errors(&format!("{AGENT}{AGENT}")),
        ["F:6:1: agents[1].id: duplicate agent id `1001`, first used by agents[0]"]
    );
}

#[test]
fn agents_need_a_password_or_both_ha1s() {
    let text = "\
[[agents]]
id = \"1001\"
groups = [\"default\"]

[[agents]]
id = \"1002\"
ha1_md5 = \"fe91a8312069f3ec33658a70e139d0d1\"

[[agents]]
id = \"1003\"
password = \"pw\"
ha1_md5 = \"fe91a8312069f3ec33658a70e139d0d1\"

[[agents]]
id = \"1004\"
ha1_md5 = \"FE91\"
ha1_sha256 = \"ce777f18d0030e57d31a42f8ec9f0ef8c446871038cfcb8985a3edd064d85b03\"

[[agents]]
groups = [\"default\"]
password = \"pw\"
";
    assert_eq!(
        errors(text),
        [
            "F:1:1: agents[0]: no credentials: give `password` or both `ha1_md5` and `ha1_sha256`",
            "F:5:1: agents[1].ha1_sha256: missing: `ha1_md5` needs `ha1_sha256` too (clients pick the algorithm)",
            "F:11:1: agents[2].password: give either `password` or `ha1_md5` and `ha1_sha256`, not both",
            "F:16:1: agents[3].ha1_md5: must be 32 lowercase hex digits",
            "F:19:1: agents[4].id: missing field `id`",
        ]
    );
}

#[test]
fn cross_field_checks() {
    assert_eq!(
        errors(&format!(
            "[registrar]\nmin_expires = 600\nmax_expires = 60\n[sip]\nudp = []\ntcp = []\n[database]\nurl = \"mysql://x\"\n[hotline]\nentry_group = \"nobody\"\n{AGENT}"
        )),
        [
            "F:3:1: registrar.max_expires: 60 is below min_expires (600)",
            "F:5:1: sip.udp: no listen address: `udp` and `tcp` are both empty",
            "F:8:1: database.url: `mysql://x` is not a sqlite:, postgres: or postgresql: URL",
            "F:10:1: hotline.entry_group: no agent is in group `nobody`: calls to 12345 would never be answered",
        ]
    );
}

#[test]
fn every_error_in_one_round() {
    let text = format!(
        "typo = 1\n[sip]\ninvite_auth = \"sometimes\"\nretry_after_secs = -1\nextra = true\n[log]\nfilter = 3\n{AGENT}{AGENT}"
    );
    assert_eq!(
        errors(&text),
        [
            "F:1:1: typo: unknown field `typo`, expected one of `sip`, `registrar`, `http`, `database`, `hotline`, `media`, `ivr`, `acd`, `queues`, `agents`, `workorders`, `kb`, `insight`, `auth`, `users`, `units`, `log`",
            "F:3:1: sip.invite_auth: unknown variant `sometimes`, expected one of `never`, `untrusted`, `always`",
            "F:4:1: sip.retry_after_secs: invalid value: integer `-1`, expected u32",
            "F:5:1: sip.extra: unknown field `extra`, expected one of `udp`, `tcp`, `domain`, `aliases`, `realm`, `user_agent`, `trusted_networks`, `invite_auth`, `max_inflight_transactions`, `retry_after_secs`, `digest_algorithms`",
            "F:7:1: log.filter: invalid type: integer `3`, expected a string",
            "F:13:1: agents[1].id: duplicate agent id `1001`, first used by agents[0]",
        ]
    );
}

#[test]
fn syntax_errors_name_the_position() {
    assert_eq!(
        errors("[sip\nudp = []\n"),
        ["F:1:5: unclosed table, expected `]`"]
    );
}

#[test]
fn missing_files() {
    let d = dir_with(AGENT);
    let missing = d.config.with_file_name("absent.toml");
    let e = load(Some(&missing), &[]).expect_err("no such file");
    assert!(matches!(
        e.as_slice(),
        [ConfigError::Read { path, .. }] if *path == missing.display().to_string()
    ));

    let d = dir_with(&format!(
        "[hotline]\nnumbers_file = \"annex.toml\"\n{AGENT}"
    ));
    let e = load(Some(&d.config), &[]).expect_err("no annex");
    let expected = d.config.with_file_name("annex.toml").display().to_string();
    assert!(matches!(
        e.as_slice(),
        [ConfigError::Read { path, .. }] if *path == expected
    ));
}

#[test]
fn annex_errors_come_with_the_config_errors() {
    let d = dir_with(&format!("[sip]\nrealm = \"\"\n{AGENT}"));
    let annex = "[[line]]\nunit = \"12345\"\nnumbers = [\"12345\"]\nmode = \"hotline\"\ntarget = \"sip:x@y\"\n";
    std::fs::write(d.config.with_file_name("hotlines.toml"), annex).expect("write");
    let e = load(Some(&d.config), &[]).expect_err("two errors");
    let dir = d.config.parent().expect("dir").display().to_string();
    let messages: Vec<String> = e
        .messages()
        .into_iter()
        .map(|m| m.replace(&dir, "D"))
        .collect();
    assert_eq!(
        messages,
        [
            "D/hotline.toml:2:1: sip.realm: must be non-empty, without quotes, backslashes or control characters",
            "D/hotlines.toml:5:1: line[0].target: `target` does not apply to mode hotline",
        ]
    );
}

/// A rejected value is reported once: the checks that run after
/// deserialization do not add "missing" for the key that was rejected.
#[test]
fn a_bad_value_is_not_also_reported_missing() {
    assert_eq!(
        errors("[[agents]]\nid = 1001\ngroups = [\"default\"]\npassword = \"pw\"\n"),
        ["F:2:1: agents[0].id: invalid type: integer `1001`, expected a string"]
    );
}

#[test]
fn digest_algorithm_names_are_checked() {
    assert_eq!(
        errors(&format!(
            "[sip]\ndigest_algorithms = [\"SHA-256\", \"MD4\"]\n{AGENT}"
        )),
        ["F:2:33: sip.digest_algorithms[1]: unknown variant `MD4`, expected `MD5` or `SHA-256`"]
    );
}

#[test]
fn media_and_ivr_mistakes_name_their_keys() {
    let text = format!(
        "{AGENT}\n[media]\nip = \"0.0.0.0\"\nrtp_port_min = 30000\nrtp_port_max = 30000\nrtp_timeout_secs = 0\n\n[ivr]\nenabled = true\nprompt_dir = \"x\"\n"
    );
    assert_eq!(
        errors(&text),
        [
            "F:7:1: media.ip: must be the address phones reach us at (it goes into SDP); 0.0.0.0 and :: are not",
            "F:9:1: media.rtp_port_max: 30000 leaves no RTP/RTCP pair above rtp_port_min (30000)",
            "F:10:1: media.rtp_timeout_secs: must be at least 1",
            "F:14:1: ivr.prompt_dir: unknown field `prompt_dir`, expected one of `enabled`, `dialplans_dir`, `prompts_dir`, `prompts_override_dir`",
        ]
    );
}

#[test]
fn acd_mistakes_name_their_keys() {
    let text = "[[agents]]\nid = \"1001\"\ngroups = [\"default\"]\nskills = { tax = 11 }\npassword = \"pw\"\n\n\
                [acd]\ncallback_key = \"12\"\n\n[acd.defaults]\nstrategy = \"random\"\n\n\
                [[queues]]\nname = \"complaint\"\non_timeout = \"overflow\"\n\
                relax = [{ after_secs = 10, min_level = 7 }, { after_secs = 5, min_level = 0 }]\n";
    assert_eq!(
        errors(text),
        [
            "F:4:12: agents[0].skills.tax: level 11 is outside 1..=10",
            "F:8:1: acd.callback_key: one of 0-9, * or #, or empty for none",
            "F:11:1: acd.defaults.strategy: unknown strategy `random` (one of longest-idle, fewest-calls, least-talk-time, round-robin, skill-level, ring-all)",
            "F:15:1: queues[0].on_timeout: unknown action `overflow` (wait, message, callback, hangup or overflow:<queue>)",
            "F:16:48: queues[0].relax[1].after_secs: steps must be in increasing order of after_secs",
            "F:16:64: queues[0].relax[1].min_level: skill levels are 1..=10",
        ]
    );
}

#[test]
fn acd_overflow_must_name_a_queue() {
    let text =
        format!("{AGENT}\n[[queues]]\nname = \"complaint\"\non_timeout = \"overflow:nowhere\"\n");
    assert_eq!(
        errors(&text),
        ["F:6:1: queues[0]: queue `complaint`: overflow to `nowhere`, which is not a queue"]
    );
}

#[test]
fn queues_come_from_skills_and_the_entry_group() {
    let d = dir_with(&format!(
        "{AGENT}[[agents]]\nid = \"1002\"\nskills = {{ tax = 8 }}\npassword = \"pw\"\n\n\
         [[queues]]\nname = \"tax\"\nstrategy = \"ring-all\"\n"
    ));
    let loaded = load(Some(&d.config), &[]).expect("loads");
    let acd = &loaded.config.acd.engine;
    let names: Vec<_> = acd.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["tax", "default"]);
    assert_eq!(acd.queues[0].strategy, hotline_acd::Strategy::RingAll);
    assert_eq!(acd.queues[1].strategy, hotline_acd::Strategy::LongestIdle);
    // The ring timeout defaults to hotline.ring_timeout_secs.
    assert_eq!(acd.queues[1].ring_timeout_ms, 30_000);
    let a = &loaded.config.agents[1];
    assert_eq!(a.skills, vec![("tax".to_string(), 8)]);
    assert_eq!(
        loaded.config.agents[0].skills,
        vec![("default".to_string(), 5)]
    );
}

#[test]
fn a_file_without_users_gets_no_demo_users() {
    let d = dir_with(AGENT);
    let loaded = load(Some(&d.config), &[]).expect("loads");
    assert!(loaded.config.users.is_empty());
    let embedded = load(None, &[]).expect("loads");
    assert!(embedded.config.users.iter().any(|u| u.id == "admin"));
}

#[test]
fn users_are_checked_with_their_index() {
    let text = format!(
        "{AGENT}\n[[users]]\nid = \"u1\"\nrole = \"unit_staff\"\npassword = \"x\"\n\
         \n[[users]]\nid = \"u2\"\nrole = \"agent\"\nunit = \"市交通局\"\npassword_hash = \"plain\"\n\
         \n[[users]]\nid = \"u1\"\nrole = \"boss\"\n"
    );
    // Every problem at once, each at its key's line.
    assert_eq!(
        errors(&text),
        [
            "F:6:1: users[0].unit: a unit_staff names its unit",
            "F:14:1: users[1].unit: only unit staff and unit heads have a unit, not a agent",
            "F:15:1: users[1].password_hash: must be an argon2 hash (`$argon2id$...`, from `hotline hash-password`)",
            "F:17:1: users[2].password_hash: missing field `password_hash`",
            "F:18:1: users[2].id: duplicate user id `u1`, first used by users[0]",
            "F:19:1: users[2].role: unknown variant `boss`, expected one of `agent`, `supervisor`, `unit_staff`, `unit_head`, `admin`",
        ]
    );
}

#[test]
fn workorder_settings_are_checked() {
    let text = format!(
        "{AGENT}\n[workorders]\nnumber_prefix = \"yc\"\nrequest_days = 0\nsms = \"pager\"\n\
         webhooks = [\"https://x.example/hook\", \"http://127.0.0.1:0/\"]\n\
         \n[auth]\ntoken_ttl_secs = 5\n\n[[units]]\nname = \"市交通局\"\nsms = [\"12ab\"]\n"
    );
    assert_eq!(
        errors(&text),
        [
            "F:7:1: workorders.number_prefix: must be 1 to 8 capital letters (A-Z)",
            "F:8:1: workorders.request_days: must be at least 1",
            "F:9:1: workorders.sms: `pager` is not one of \"log\", \"file\", \"off\"",
            "F:10:13: workorders.webhooks[0]: `https://x.example/hook` is not an http:// URL",
            "F:10:39: workorders.webhooks[1]: `http://127.0.0.1:0/` has a bad port `0`",
            "F:13:1: auth.token_ttl_secs: must be at least 60 seconds",
            "F:17:8: units[0].sms[0]: `12ab` is not a phone number",
        ]
    );
}

#[test]
fn bad_kb_settings_name_their_keys() {
    let errs = errors("[kb]\nsuggestions = 0\nsynonyms = [[\"暖气\"], [\"停水\", \"没 水\"]]\n");
    assert_eq!(
        errs,
        [
            "F:2:1: kb.suggestions: must be 1 to 50",
            "F:3:13: kb.synonyms[0]: a synonym group needs at least two words",
            "F:3:28: kb.synonyms[1][1]: `没 水` is not one word",
        ]
    );
}

#[test]
fn warning_rules_are_checked_with_their_keys() {
    let text = format!(
        "{AGENT}\n[insight]\nevaluate_secs = 60\n\n[[insight.sensitive]]\nname = \"x\"\nlevel = \"critical\"\nphrases = [\"\"]\nmonths = [13]\n\n\
         [[insight.repeats]]\nname = \"x\"\nlevel = \"warning\"\nby = \"address\"\ntimes = 1\ndays = 7\n\n\
         [[insight.spikes]]\nname = \"s\"\nlevel = \"loud\"\ndepth = 2\nk = 5.0\nbaseline_days = 28\nmin_count = 12\n\n\
         [[insight.recipients]]\nname = \"值班\"\nsms = \"12a\"\n"
    );
    let e = errors(&text);
    let has = |needle: &str| e.iter().any(|m| m.contains(needle));
    assert!(
        has("insight.sensitive[0].phrases[0]: an empty phrase"),
        "{e:#?}"
    );
    assert!(
        has("insight.sensitive[0].months[0]: a month is 1 to 12"),
        "{e:#?}"
    );
    assert!(
        has("insight.repeats[0].name: a second rule named `x`"),
        "{e:#?}"
    );
    assert!(
        has("insight.repeats[0].times: a repeat is at least 2 times"),
        "{e:#?}"
    );
    assert!(has("insight.spikes[0].level"), "{e:#?}");
    // Every message names the file and the line.
    assert!(e.iter().all(|m| m.starts_with("F:")), "{e:#?}");
}

#[test]
fn the_shipped_warning_rules_load() {
    let d = dir_with(AGENT);
    let loaded = load(Some(&d.config), &[]).expect("loads");
    let rules = loaded.config.insight.rules();
    assert!(
        rules
            .sensitive
            .iter()
            .any(|r| r.phrases.iter().any(|p| p == "燃气泄漏"))
    );
    assert_eq!(rules.spikes[0].k, 5.0);
    assert_eq!(loaded.config.insight.evaluate_secs, 60);
}
