//! Loading dialplans: a directory of `*.toml` files (or texts, for tests) into a set, with the
//! checks across files (who serves which mode and number) and which dialplan a call uses.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use hotline_calendar::Calendar;

use crate::check;
use crate::diagnostics::Diagnostics;
use crate::dialplan::Dialplan;
use crate::error::{DialplanError, DialplanErrors, Problem};
use crate::key_path::KeyPath;
use crate::parse::{self, Draft};
use crate::prompt_catalog::PromptCatalog;
use crate::vars::LineVars;

/// What loading checks dialplans against, and the calendar their `hours` nodes will use.
pub struct LoadContext<'a> {
    pub prompts: &'a dyn PromptCatalog,
    /// One per annex number (see [`LineVars`]): templated prompt names are expanded for each
    /// number the dialplan serves. Empty means those names go unchecked.
    pub lines: &'a [LineVars],
    pub calendar: Arc<Calendar>,
}

/// Every dialplan, and which serves which calls.
#[derive(Debug, Clone, Default)]
pub struct DialplanSet {
    plans: Vec<Arc<Dialplan>>,
    by_number: HashMap<String, usize>,
    by_mode: HashMap<String, usize>,
}

impl DialplanSet {
    /// Loads every `*.toml` in `dir` (other files, such as a README, are ignored), in file name
    /// order.
    pub fn load_dir(dir: impl AsRef<Path>, ctx: &LoadContext<'_>) -> Result<Self, DialplanErrors> {
        let dir = dir.as_ref();
        let read_error = |path: &Path, e: std::io::Error| {
            DialplanErrors::new(vec![DialplanError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            }])
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
            let path = entry.map_err(|e| read_error(dir, e))?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => files.push((path.display().to_string(), text)),
                Err(e) => errors.push(DialplanError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        match (Self::from_strs(&borrowed, ctx), errors.is_empty()) {
            (Ok(set), true) => Ok(set),
            (Ok(_), false) => Err(DialplanErrors::new(errors)),
            (Err(more), _) => {
                errors.extend(more.into_vec());
                Err(DialplanErrors::new(errors))
            }
        }
    }

    /// Loads `(source name, TOML text)` pairs; the names appear in error locations.
    pub fn from_strs(
        files: &[(&str, &str)],
        ctx: &LoadContext<'_>,
    ) -> Result<Self, DialplanErrors> {
        let plans = load(files, ctx)?;
        let mut set = DialplanSet::default();
        for plan in plans {
            let i = set.plans.len();
            for n in &plan.numbers {
                set.by_number.insert(n.clone(), i);
            }
            for m in &plan.modes {
                set.by_mode.insert(m.clone(), i);
            }
            set.plans.push(Arc::new(plan));
        }
        Ok(set)
    }

    /// The dialplan for a call to `dialed` on a line of `mode`: a dialplan listing the number
    /// wins over one listing the mode, so one number of a mode can have its own flow.
    pub fn select(&self, dialed: &str, mode: Option<&str>) -> Option<&Arc<Dialplan>> {
        self.by_number
            .get(dialed)
            .or_else(|| mode.and_then(|m| self.by_mode.get(m)))
            .and_then(|&i| self.plans.get(i))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Dialplan>> {
        self.plans.iter().find(|p| p.name() == name)
    }

    pub fn plans(&self) -> &[Arc<Dialplan>] {
        &self.plans
    }

    pub fn len(&self) -> usize {
        self.plans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }
}

impl Dialplan {
    /// Loads one dialplan from text; `name` is used in error locations. Templated prompts are
    /// checked for the lines its own `modes` and `numbers` claim.
    pub fn from_str(
        name: &str,
        text: &str,
        ctx: &LoadContext<'_>,
    ) -> Result<Dialplan, DialplanErrors> {
        let mut plans = load(&[(name, text)], ctx)?;
        plans.pop().ok_or_else(|| DialplanErrors::new(Vec::new()))
    }
}

struct File {
    d: Diagnostics,
    draft: Option<Draft>,
}

/// The first claim of a mode, number or name: which file, and where in it.
struct Claim {
    file: usize,
    path: KeyPath,
}

fn load(files: &[(&str, &str)], ctx: &LoadContext<'_>) -> Result<Vec<Dialplan>, DialplanErrors> {
    let mut loaded: Vec<File> = files
        .iter()
        .map(|(name, text)| {
            let mut d = Diagnostics::new(name, text);
            let draft = parse::parse(&mut d, text);
            if let Some(draft) = &draft {
                check::structure(draft, &mut d);
            }
            File { d, draft }
        })
        .collect();

    // Keyed by ("mode" | "number" | "name", value); the first file (in name order) keeps it.
    let mut owners: HashMap<(&'static str, String), Claim> = HashMap::new();
    let mut clashes: Vec<(usize, KeyPath, Problem)> = Vec::new();
    for (i, file) in loaded.iter().enumerate() {
        let Some(draft) = &file.draft else { continue };
        let claims = draft
            .modes
            .iter()
            .map(|s| ("mode", s))
            .chain(draft.numbers.iter().map(|s| ("number", s)))
            .chain(draft.name.iter().map(|s| ("name", s)));
        for (what, s) in claims {
            match owners.entry((what, s.value.clone())) {
                Entry::Occupied(first) => {
                    let first = first.get();
                    let other = loaded[first.file].d.location_of(&first.path);
                    let problem = if what == "name" {
                        Problem::DuplicateName {
                            name: s.value.clone(),
                            other,
                        }
                    } else {
                        Problem::DuplicateClaim {
                            what,
                            value: s.value.clone(),
                            other,
                        }
                    };
                    clashes.push((i, s.path.clone(), problem));
                }
                Entry::Vacant(slot) => {
                    slot.insert(Claim {
                        file: i,
                        path: s.path.clone(),
                    });
                }
            }
        }
    }
    for (i, path, problem) in clashes {
        loaded[i].d.invalid(&path, problem);
    }

    // Each line's prompts are checked in the dialplan that will actually serve it.
    let mut served: Vec<Vec<&LineVars>> = vec![Vec::new(); loaded.len()];
    for line in ctx.lines {
        let owner = owners
            .get(&("number", line.number.clone()))
            .or_else(|| owners.get(&("mode", line.mode.clone())));
        if let Some(claim) = owner {
            served[claim.file].push(line);
        }
    }
    for (file, lines) in loaded.iter_mut().zip(&served) {
        if let Some(draft) = &file.draft {
            check::prompts(draft, lines, ctx.prompts, &mut file.d);
        }
    }

    if loaded.iter().any(|f| f.d.has_errors()) {
        let errors = loaded.into_iter().flat_map(|f| f.d.into_errors()).collect();
        return Err(DialplanErrors::new(errors));
    }
    let mut plans = Vec::with_capacity(loaded.len());
    for file in loaded {
        match file
            .draft
            .and_then(|draft| build(draft, file.d.source(), &ctx.calendar))
        {
            Some(plan) => plans.push(plan),
            // Every part left unread has had its problem reported, so this is not reached; if it
            // were, refusing the file beats serving calls from half a dialplan.
            None => {
                let mut d = file.d;
                d.invalid(&parse::dialplan_path(), Problem::Missing);
                return Err(DialplanErrors::new(d.into_errors()));
            }
        }
    }
    Ok(plans)
}

fn build(draft: Draft, source: &str, calendar: &Arc<Calendar>) -> Option<Dialplan> {
    let mut schedules = BTreeMap::new();
    for (name, hours) in draft.schedules {
        schedules.insert(name, hours?);
    }
    let mut nodes = BTreeMap::new();
    for (name, node) in draft.nodes {
        let node = node.filter(|n| n.complete)?;
        nodes.insert(name, node.node);
    }
    Some(Dialplan {
        name: draft.name?.value,
        source: source.to_owned(),
        modes: draft.modes.into_iter().map(|s| s.value).collect(),
        numbers: draft.numbers.into_iter().map(|s| s.value).collect(),
        entry: draft.entry?.value,
        fallback_group: draft.fallback_group,
        schedules,
        nodes,
        calendar: Arc::clone(calendar),
    })
}
