//! HOTLINE_* environment overrides: `HOTLINE_SIP__INVITE_AUTH` sets
//! `sip.invite_auth`. The environment is passed in as pairs so that tests
//! never touch the process environment.

pub(crate) const PREFIX: &str = "HOTLINE_";

/// Names the config file for the server; it is not a setting.
pub(crate) const CONFIG_PATH_VAR: &str = "HOTLINE_CONFIG";

pub(crate) struct Override {
    /// The variable name, for `env HOTLINE_...` in error locations.
    pub(crate) name: String,
    /// Lowercased key segments; empty when the name has an empty segment.
    pub(crate) segs: Vec<String>,
    pub(crate) value: String,
}

pub(crate) fn overrides(env: &[(String, String)]) -> Vec<Override> {
    let mut found: Vec<Override> = env
        .iter()
        .filter(|(name, _)| name.starts_with(PREFIX) && name != CONFIG_PATH_VAR)
        .map(|(name, value)| {
            let rest = &name[PREFIX.len()..];
            let segs: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            let segs = if segs.iter().any(String::is_empty) {
                Vec::new()
            } else {
                segs
            };
            Override {
                name: name.clone(),
                segs,
                value: value.clone(),
            }
        })
        .collect();
    // The process environment has no order; sorting makes a deeper key
    // (HOTLINE_SIP__UDP) win over a whole table (HOTLINE_SIP) set at the
    // same time, whatever order the caller listed them in.
    found.sort_by(|a, b| a.segs.len().cmp(&b.segs.len()).then(a.name.cmp(&b.name)));
    found
}
