//! The checks across a dialplan's nodes: names that must exist (nodes, schedules, variables),
//! the shape of the graph (reachable, always an exit), and the prompts for the lines served.

use std::collections::{BTreeSet, VecDeque};

use crate::diagnostics::Diagnostics;
use crate::dialplan::Node;
use crate::error::Problem;
use crate::key_path::KeyPath;
use crate::parse::{Draft, DraftNode, node_path};
use crate::prompt_catalog::PromptCatalog;
use crate::template::Template;
use crate::vars::{LineVars, STANDARD_VARS};

/// What a template is used for, which decides how it is checked against the lines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Prompt,
    Destination,
    Other,
}

struct Placed<'a> {
    path: KeyPath,
    template: &'a Template,
    used: Use,
}

fn templates<'a>(name: &str, node: &'a Node) -> Vec<Placed<'a>> {
    let at = |field: &str, template: &'a Template, used| Placed {
        path: node_path(name).key(field),
        template,
        used,
    };
    let mut out = Vec::new();
    let mut optional = |field: &str, t: &'a Option<Template>, used| {
        if let Some(t) = t {
            out.push(at(field, t, used));
        }
    };
    match node {
        Node::Play(p) => {
            for (i, t) in p.prompts.iter().enumerate() {
                out.push(Placed {
                    path: node_path(name).key("prompts").index(i),
                    template: t,
                    used: Use::Prompt,
                });
            }
        }
        Node::Menu(m) => {
            optional("invalid_prompt", &m.invalid_prompt, Use::Prompt);
            optional("no_input_prompt", &m.no_input_prompt, Use::Prompt);
            out.push(at("prompt", &m.prompt, Use::Prompt));
        }
        Node::Collect(c) => {
            optional("invalid_prompt", &c.invalid_prompt, Use::Prompt);
            optional("no_input_prompt", &c.no_input_prompt, Use::Prompt);
            out.push(at("prompt", &c.prompt, Use::Prompt));
        }
        Node::Set(s) => out.push(at("value", &s.value, Use::Other)),
        Node::Queue(q) => {
            optional("also_ring", &q.also_ring, Use::Other);
            optional("prompt", &q.prompt, Use::Prompt);
        }
        Node::Transfer(t) => {
            optional("prompt", &t.prompt, Use::Prompt);
            out.push(at("to", &t.to, Use::Destination));
        }
        Node::Hangup(h) => optional("prompt", &h.prompt, Use::Prompt),
        Node::Hours(_) | Node::Branch(_) => {}
    }
    out
}

/// The variables a call of this dialplan can have: the standard ones and every `var` a set or
/// collect node assigns. Not flow-sensitive: a variable read before any node set it expands to
/// nothing, which is a dialplan's own choice.
fn known_vars(draft: &Draft) -> BTreeSet<&str> {
    let mut known: BTreeSet<&str> = STANDARD_VARS.into_iter().collect();
    for draft_node in draft.nodes.values().flatten() {
        match &draft_node.node {
            Node::Set(s) => {
                known.insert(&s.var);
            }
            Node::Collect(c) => {
                known.insert(&c.var);
            }
            _ => {}
        }
    }
    // The stand-in for a bad `var`.
    known.remove("");
    known
}

/// Checks names and the graph. Needs nothing outside the file.
pub(crate) fn structure(draft: &Draft, d: &mut Diagnostics) {
    let entry_ok = match &draft.entry {
        Some(entry) if !draft.nodes.contains_key(&entry.value) => {
            d.invalid(
                &entry.path,
                Problem::UnknownNode {
                    name: entry.value.clone(),
                },
            );
            false
        }
        Some(_) => true,
        None => false,
    };
    let known = known_vars(draft);
    for (name, node) in &draft.nodes {
        let Some(DraftNode { node, .. }) = node else {
            continue;
        };
        for edge in node.edges() {
            // An empty target is the stand-in for one already reported.
            if !edge.target.is_empty() && !draft.nodes.contains_key(edge.target) {
                let mut path = node_path(name).key(edge.field);
                if let Some(key) = edge.option {
                    path = path.key(key.encode_utf8(&mut [0; 4]));
                }
                d.invalid(
                    &path,
                    Problem::UnknownNode {
                        name: edge.target.to_owned(),
                    },
                );
            }
        }
        if let Node::Hours(h) = node
            && !draft.schedules.contains_key(&h.schedule)
        {
            d.invalid(
                &node_path(name).key("schedule"),
                Problem::UnknownSchedule {
                    name: h.schedule.clone(),
                },
            );
        }
        if let Node::Branch(b) = node
            && !b.when.variable().is_empty()
            && !known.contains(b.when.variable())
        {
            d.invalid(
                &node_path(name).key("when"),
                Problem::UnknownVariable {
                    name: b.when.variable().to_owned(),
                },
            );
        }
        for placed in templates(name, node) {
            let mut reported = BTreeSet::new();
            for var in placed.template.variables() {
                if !known.contains(var) && reported.insert(var) {
                    d.invalid(
                        &placed.path,
                        Problem::UnknownVariable {
                            name: var.to_owned(),
                        },
                    );
                }
            }
        }
    }
    // The graph is only judged when every node was read: a node that failed to read has unknown
    // exits, and guessing would report its consequences as further mistakes.
    let complete = draft
        .nodes
        .values()
        .all(|n| n.as_ref().is_some_and(|n| n.complete));
    if let (true, true, Some(entry)) = (entry_ok, complete, &draft.entry) {
        graph(draft, &entry.value, d);
    }
}

fn successors<'a>(draft: &'a Draft, name: &str) -> Vec<&'a str> {
    match draft.nodes.get(name) {
        Some(Some(DraftNode { node, .. })) => node
            .edges()
            .into_iter()
            .map(|e| e.target)
            .filter(|t| draft.nodes.contains_key(*t))
            .collect(),
        _ => Vec::new(),
    }
}

/// Nodes reachable from `from` (including it), through nodes for which `through` holds.
fn reach<'a>(draft: &'a Draft, from: &'a str, through: impl Fn(&str) -> bool) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([from]);
    let mut todo = VecDeque::from([from]);
    while let Some(name) = todo.pop_front() {
        for next in successors(draft, name) {
            if through(next) && seen.insert(next) {
                todo.push_back(next);
            }
        }
    }
    seen
}

fn graph(draft: &Draft, entry: &str, d: &mut Diagnostics) {
    let reachable = reach(draft, entry, |_| true);
    for name in draft.nodes.keys() {
        if !reachable.contains(name.as_str()) {
            d.invalid(
                &node_path(name),
                Problem::Unreachable {
                    entry: entry.to_owned(),
                },
            );
        }
    }
    // Nodes that can reach a terminal, found backwards from the terminals until nothing changes;
    // dialplans are tens of nodes, so the quadratic loop is fine.
    let is_terminal = |n: &str| matches!(draft.nodes.get(n), Some(Some(d)) if d.node.is_terminal());
    let mut exits: BTreeSet<&str> = draft
        .nodes
        .keys()
        .map(String::as_str)
        .filter(|n| is_terminal(n))
        .collect();
    loop {
        let before = exits.len();
        for name in draft.nodes.keys() {
            if !exits.contains(name.as_str())
                && successors(draft, name).iter().any(|s| exits.contains(s))
            {
                exits.insert(name);
            }
        }
        if exits.len() == before {
            break;
        }
    }
    for name in &reachable {
        if !exits.contains(name) {
            let stuck = reach(draft, name, |n| !exits.contains(n));
            d.invalid(
                &node_path(name),
                Problem::NoExit {
                    stuck: stuck.into_iter().map(str::to_owned).collect(),
                },
            );
        }
    }
}

/// Checks every prompt exists, for each line `served` when the name is a template of `line.*`
/// variables, and that transfer destinations are not empty for any of them. Templates using
/// other variables (caller, collected digits) depend on the call and cannot be checked here.
pub(crate) fn prompts(
    draft: &Draft,
    served: &[&LineVars],
    catalog: &dyn PromptCatalog,
    d: &mut Diagnostics,
) {
    let known = known_vars(draft);
    for (name, node) in &draft.nodes {
        let Some(DraftNode { node, .. }) = node else {
            continue;
        };
        for placed in templates(name, node) {
            let t = placed.template;
            // Empty: the stand-in for a template already reported. Unknown variables: reported,
            // and an expansion without them would name a prompt nobody meant.
            let mut vars = t.variables();
            if t.as_str().is_empty() || !vars.all(|v| known.contains(v)) {
                continue;
            }
            let line_only = t.variables().all(|v| v.starts_with("line."));
            match placed.used {
                Use::Prompt if t.is_literal() => {
                    if !catalog.exists(t.as_str()) {
                        d.invalid(
                            &placed.path,
                            Problem::MissingPrompt {
                                prompt: t.as_str().to_owned(),
                                line: None,
                            },
                        );
                    }
                }
                Use::Prompt if line_only => {
                    for line in served {
                        let expanded = t.expand(&line.to_vars());
                        if !catalog.exists(&expanded) {
                            d.invalid(
                                &placed.path,
                                Problem::MissingPrompt {
                                    prompt: expanded,
                                    line: Some(line.number.clone()),
                                },
                            );
                        }
                    }
                }
                Use::Destination if line_only => {
                    for line in served {
                        if t.expand(&line.to_vars()).trim().is_empty() {
                            d.invalid(
                                &placed.path,
                                Problem::EmptyDestination {
                                    line: line.number.clone(),
                                },
                            );
                        }
                    }
                }
                Use::Prompt | Use::Destination | Use::Other => {}
            }
        }
    }
}
