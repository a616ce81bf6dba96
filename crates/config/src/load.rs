//! Loading: embedded defaults, then the config file, then HOTLINE_*
//! environment overrides, then the hotlines file the result names.

use std::path::{Path, PathBuf};

use toml::de::DeTable;

use crate::config::{Config, RawConfig};
use crate::deserialize::{Problem, deserialize_all};
use crate::env;
use crate::error::{ConfigError, ConfigErrors};
use crate::hotlines::{Hotlines, RawHotlines};
use crate::source::{SourceId, Sources};
use crate::tree::{self, KeyPath};

/// config/hotline.toml, compiled in: the configuration when no file is given.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/hotline.toml");
/// config/hotlines.toml, compiled in: the annex when no file is given.
pub const DEFAULT_HOTLINES_TOML: &str = include_str!("../../../config/hotlines.toml");

/// How the embedded texts are named in error locations.
pub const EMBEDDED_CONFIG_NAME: &str = "<embedded config/hotline.toml>";
pub const EMBEDDED_HOTLINES_NAME: &str = "<embedded config/hotlines.toml>";

#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub hotlines: Hotlines,
    /// The config file given, if any.
    pub config_file: Option<PathBuf>,
    /// The hotlines file read, or [`EMBEDDED_HOTLINES_NAME`].
    pub hotlines_source: String,
}

/// Loads the configuration. `path: None` means the embedded defaults.
/// `env` is the process environment (or a test's); only `HOTLINE_*`
/// variables are read, except `HOTLINE_CONFIG`, which names the file and
/// is the caller's business.
///
/// Relative `hotline.numbers_file` paths are relative to the config file's
/// directory, or to the working directory when set by the environment or
/// when there is no config file. With no config file and no override, the
/// embedded annex is used.
pub fn load(path: Option<&Path>, env: &[(String, String)]) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut sources = Sources::default();
    let defaults_id = sources.add(EMBEDDED_CONFIG_NAME, DEFAULT_CONFIG_TOML);
    let file_id = match path {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some(sources.add(p.display().to_string(), text)),
            Err(e) => {
                errors.push(ConfigError::Read {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                });
                return Err(ConfigErrors::new(errors));
            }
        },
    };
    let overrides = env::overrides(env);
    let env_ids: Vec<SourceId> = overrides
        .iter()
        .map(|o| sources.add(format!("env {}", o.name), o.value.clone()))
        .collect();

    let (mut defaults, syntax) = tree::parse_document(&sources, defaults_id);
    errors.extend(syntax_errors(&sources, syntax));
    if file_id.is_some() {
        // Demo agents must not survive into a real deployment's file.
        defaults.remove("agents");
        defaults.remove("users");
    }
    let mut merged = defaults.clone();
    if let Some(id) = file_id {
        let (file, syntax) = tree::parse_document(&sources, id);
        errors.extend(syntax_errors(&sources, syntax));
        tree::merge(&mut merged, file);
    }
    for (o, &id) in overrides.iter().zip(&env_ids) {
        let base = sources.base(id);
        let key_span = base..base + sources.text(id).len();
        let at = sources.locate(base);
        if o.segs.is_empty() {
            errors.push(ConfigError::Syntax {
                at,
                message: format!(
                    "`{}` does not name a setting: use {}SECTION__KEY",
                    o.name,
                    env::PREFIX
                ),
            });
            continue;
        }
        let value = tree::parse_value(&sources, id);
        if let Err(prefix) = tree::set(&mut merged, &o.segs, key_span, value) {
            errors.push(ConfigError::Invalid {
                at,
                key: o.segs.join("."),
                message: format!("`{prefix}` is a value, not a table"),
            });
        }
    }
    if !errors.is_empty() {
        // Keys and types cannot be checked reliably in a text that did not parse.
        return Err(ConfigErrors::new(errors));
    }

    let primary = file_id.unwrap_or(defaults_id);
    let (raw, mut problems) = deserialize_all::<RawConfig>(&merged, Some(&defaults));
    let config = raw.map(|raw| {
        let (config, more) = raw.validate();
        add_consequences(&mut problems, more);
        config
    });
    errors.extend(problems_to_errors(&sources, &merged, primary, &problems));

    let hotlines = config.as_ref().and_then(|config| {
        let numbers_file = KeyPath::root().key("hotline").key("numbers_file");
        let from_env = tree::get(&merged, &numbers_file)
            .and_then(|n| sources.source_of(n.span().start))
            .is_some_and(|id| env_ids.contains(&id));
        match read_hotlines(path, &config.hotline.numbers_file, from_env) {
            Ok(found) => Some(found),
            Err(e) => {
                errors.extend(e);
                None
            }
        }
    });

    match (config, hotlines) {
        (Some(config), Some((hotlines, hotlines_source))) if errors.is_empty() => Ok(Loaded {
            config,
            hotlines,
            config_file: path.map(Path::to_path_buf),
            hotlines_source,
        }),
        _ => Err(ConfigErrors::new(errors)),
    }
}

/// The annex `numbers_file` names, or the embedded one when nothing
/// named it (no config file, no environment override).
fn read_hotlines(
    config_file: Option<&Path>,
    numbers_file: &Path,
    from_env: bool,
) -> Result<(Hotlines, String), Vec<ConfigError>> {
    let (name, text) = match config_file {
        None if !from_env => (
            EMBEDDED_HOTLINES_NAME.to_owned(),
            DEFAULT_HOTLINES_TOML.to_owned(),
        ),
        _ => {
            let (file, relative_to) = match config_file {
                Some(c) if !from_env => (
                    c.parent().unwrap_or(Path::new("")).join(numbers_file),
                    "the config file's directory",
                ),
                _ => (numbers_file.to_path_buf(), "the working directory"),
            };
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => (name, text),
                Err(e) => {
                    return Err(vec![ConfigError::Read {
                        path: name,
                        reason: format!(
                            "{e} (hotline.numbers_file; a relative path is relative to {relative_to})"
                        ),
                    }]);
                }
            }
        }
    };
    Hotlines::from_toml(&name, &text)
        .map(|h| (h, name))
        .map_err(ConfigErrors::into_vec)
}

impl Hotlines {
    /// Parses and checks a hotlines file's text; `name` is used in error
    /// locations.
    pub fn from_toml(name: &str, text: &str) -> Result<Hotlines, ConfigErrors> {
        let mut sources = Sources::default();
        let id = sources.add(name, text);
        let (table, syntax) = tree::parse_document(&sources, id);
        let errors = syntax_errors(&sources, syntax);
        if !errors.is_empty() {
            return Err(ConfigErrors::new(errors));
        }
        let (raw, mut problems) = deserialize_all::<RawHotlines>(&table, None);
        let mut hotlines = None;
        if let Some(raw) = raw {
            let (h, more) = raw.validate();
            add_consequences(&mut problems, more);
            hotlines = h;
        }
        match hotlines {
            Some(h) if problems.is_empty() => Ok(h),
            _ => Err(ConfigErrors::new(problems_to_errors(
                &sources, &table, id, &problems,
            ))),
        }
    }
}

/// Adds the problems found by the checks after deserialization, except
/// those at or below a path whose value deserialization already rejected:
/// they are about the stand-in, not about what the file says.
fn add_consequences(problems: &mut Vec<Problem>, more: Vec<Problem>) {
    let fresh: Vec<Problem> = more
        .into_iter()
        .filter(|p| !problems.iter().any(|r| p.path.starts_with(&r.path)))
        .collect();
    problems.extend(fresh);
}

fn syntax_errors(sources: &Sources, syntax: Vec<(usize, String)>) -> Vec<ConfigError> {
    syntax
        .into_iter()
        .map(|(at, message)| ConfigError::Syntax {
            at: sources.locate(at),
            message,
        })
        .collect()
}

fn problems_to_errors(
    sources: &Sources,
    table: &DeTable<'_>,
    primary: SourceId,
    problems: &[Problem],
) -> Vec<ConfigError> {
    let mut errors: Vec<(usize, ConfigError)> = problems
        .iter()
        .map(|p| {
            let at = tree::position(table, &p.path).unwrap_or_else(|| sources.base(primary));
            let error = ConfigError::Invalid {
                at: sources.locate(at),
                key: p.path.to_string(),
                message: p.message.clone(),
            };
            (at, error)
        })
        .collect();
    // Source order reads like a compiler's output; the global offset
    // orders sources as they were layered.
    errors.sort_by_key(|(at, _)| *at);
    errors.into_iter().map(|(_, e)| e).collect()
}
