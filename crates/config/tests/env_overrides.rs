//! HOTLINE_* environment overrides: they win over the file and the
//! defaults, and their errors name the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use hotline_config::{DEFAULT_HOTLINES_TOML, InviteAuth, load};
use tempfile::TempDir;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn dir_with(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hotlines.toml"), DEFAULT_HOTLINES_TOML).expect("write");
    let config = dir.path().join("hotline.toml");
    std::fs::write(&config, text).expect("write");
    (dir, config)
}

const FILE: &str = "[sip]
invite_auth = \"always\"
udp = [\"127.0.0.1:5070\"]

[[agents]]
id = \"2001\"
groups = [\"default\"]
password = \"pw\"
";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

#[test]
fn env_wins_over_the_file() {
    let (_dir, config) = dir_with(FILE);
    let from_file = load(Some(&config), &[]).expect("file loads").config;
    assert_eq!(from_file.sip.invite_auth, InviteAuth::Always);
    assert_eq!(from_file.sip.udp, [addr("127.0.0.1:5070")]);

    let vars = env(&[
        ("HOTLINE_SIP__INVITE_AUTH", "never"),
        ("HOTLINE_SIP__UDP", "[\"0.0.0.0:5060\", \"[::]:5060\"]"),
        ("HOTLINE_REGISTRAR__MAX_CONTACTS", "3"),
        ("HOTLINE_LOG__FILTER", "debug,hotline=trace"),
    ]);
    let c = load(Some(&config), &vars).expect("loads").config;
    assert_eq!(c.sip.invite_auth, InviteAuth::Never);
    assert_eq!(c.sip.udp, [addr("0.0.0.0:5060"), addr("[::]:5060")]);
    assert_eq!(c.registrar.max_contacts, 3);
    assert_eq!(c.log.filter, "debug,hotline=trace");
    // Untouched settings keep the file's or the defaults' values.
    assert_eq!(c.sip.tcp, [addr("127.0.0.1:5060")]);
    assert_eq!(c.agents.len(), 1);
}

#[test]
fn env_applies_over_the_embedded_defaults() {
    let vars = env(&[("HOTLINE_HTTP__LISTEN", "0.0.0.0:9090")]);
    let c = load(None, &vars).expect("loads").config;
    assert_eq!(c.http.listen, addr("0.0.0.0:9090"));
    assert_eq!(c.agents.len(), 3);
}

#[test]
fn other_variables_are_ignored() {
    let vars = env(&[
        ("PATH", "/usr/bin"),
        ("HOTLINEX", "1"),
        ("HOTLINE_CONFIG", "/etc/hotline/hotline.toml"),
    ]);
    assert_eq!(
        load(None, &vars).expect("loads").config,
        load(None, &[]).expect("loads").config
    );
}

#[test]
fn a_deeper_key_wins_over_a_whole_table_whatever_the_order() {
    let vars = env(&[
        ("HOTLINE_SIP__REALM", "city"),
        ("HOTLINE_SIP", "{ realm = \"other\", user_agent = \"ua\" }"),
    ]);
    let c = load(None, &vars).expect("loads").config;
    assert_eq!(c.sip.realm, "city");
    assert_eq!(c.sip.user_agent, "ua");
}

#[test]
fn env_errors_name_the_variable() {
    let vars = env(&[
        ("HOTLINE_SIP__INVITE_AUTH", "sometimes"),
        ("HOTLINE_SIP__UDP", "[\"0.0.0.0:5060\", \"nope\"]"),
        ("HOTLINE_SIP__NOPE", "1"),
        ("HOTLINE_REGISTRAR__MAX_CONTACTS", "many"),
    ]);
    let e = load(None, &vars).expect_err("bad overrides");
    assert_eq!(
        e.messages(),
        [
            "env HOTLINE_REGISTRAR__MAX_CONTACTS:1:1: registrar.max_contacts: invalid type: string \"many\", expected u32",
            "env HOTLINE_SIP__INVITE_AUTH:1:1: sip.invite_auth: unknown variant `sometimes`, expected one of `never`, `untrusted`, `always`",
            "env HOTLINE_SIP__NOPE:1:1: sip.nope: unknown field `nope`, expected one of `udp`, `tcp`, `domain`, `aliases`, `realm`, `user_agent`, `trusted_networks`, `invite_auth`, `max_inflight_transactions`, `retry_after_secs`, `digest_algorithms`",
            "env HOTLINE_SIP__UDP:1:18: sip.udp[1]: invalid socket address syntax",
        ]
    );
}

#[test]
fn env_keys_that_do_not_fit() {
    let vars = env(&[("HOTLINE_SIP__REALM__X", "1"), ("HOTLINE_", "1")]);
    let e = load(None, &vars).expect_err("bad names");
    assert_eq!(
        e.messages(),
        [
            "env HOTLINE_:1:1: `HOTLINE_` does not name a setting: use HOTLINE_SECTION__KEY",
            "env HOTLINE_SIP__REALM__X:1:1: sip.realm.x: `sip.realm` is a value, not a table",
        ]
    );
}

#[test]
fn env_numbers_file_is_relative_to_the_working_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let annex = dir.path().join("annex.toml");
    std::fs::write(
        &annex,
        "[[line]]\nunit = \"中心\"\nnumbers = [\"12345\", \"96345\"]\nmode = \"hotline\"\n",
    )
    .expect("write");
    let vars = vec![(
        "HOTLINE_HOTLINE__NUMBERS_FILE".to_owned(),
        annex.display().to_string(),
    )];
    let loaded = load(None, &vars).expect("loads");
    assert_eq!(loaded.hotlines_source, annex.display().to_string());
    assert_eq!(loaded.hotlines.lines().len(), 1);
    assert!(loaded.hotlines.lookup("96345").is_some());

    // Relative: looked up from the working directory (the crate's, under
    // cargo test), not from the config file's directory.
    let vars = env(&[(
        "HOTLINE_HOTLINE__NUMBERS_FILE",
        "../../config/hotlines.toml",
    )]);
    let (_d, config) =
        dir_with("[[agents]]\nid = \"1\"\ngroups = [\"default\"]\npassword = \"p\"\n");
    let loaded = load(Some(&config), &vars).expect("loads");
    assert_eq!(loaded.hotlines_source, "../../config/hotlines.toml");
    assert_eq!(loaded.hotlines.lines().len(), 52);
}
