//! Spanned TOML trees: parsing into the shared address space, layering
//! sources, finding a node by span and mapping key paths back to positions.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::source::{SourceId, Sources};

pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// `sip.udp[1]`, `line[3].target`: how errors name a setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct KeyPath(Vec<Seg>);

impl KeyPath {
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(index));
        p
    }

    pub(crate) fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Parses a whole document of `sources` and moves its spans to the
/// source's range. Syntax errors come back as (global offset, message).
pub(crate) fn parse_document<'i>(
    sources: &'i Sources,
    id: SourceId,
) -> (DeTable<'i>, Vec<(usize, String)>) {
    let base = sources.base(id);
    let (root, errors) = DeTable::parse_recoverable(sources.text(id));
    let mut table = root.into_inner();
    shift_table(&mut table, base);
    let errors = errors
        .into_iter()
        .map(|e| {
            let at = e.span().map_or(base, |s| s.start + base);
            (at, e.message().to_owned())
        })
        .collect();
    (table, errors)
}

/// Parses a single value (an environment variable). Text that is not a TOML
/// value is taken as a string, so `HOTLINE_LOG__FILTER=debug` needs no quotes.
pub(crate) fn parse_value<'i>(sources: &'i Sources, id: SourceId) -> Node<'i> {
    let base = sources.base(id);
    let text = sources.text(id);
    match DeValue::parse(text) {
        Ok(mut node) => {
            shift_node(&mut node, base);
            node
        }
        Err(_) => Spanned::new(
            base..base + text.len(),
            DeValue::String(Cow::Borrowed(text)),
        ),
    }
}

fn shifted(span: Range<usize>, by: usize) -> Range<usize> {
    span.start + by..span.end + by
}

fn shift_table(table: &mut DeTable<'_>, by: usize) {
    let old = std::mem::take(table);
    for (key, mut value) in old {
        shift_node(&mut value, by);
        let span = shifted(key.span(), by);
        table.insert(Spanned::new(span, key.into_inner()), value);
    }
}

fn shift_node(node: &mut Node<'_>, by: usize) {
    let span = shifted(node.span(), by);
    let mut inner = std::mem::replace(node.get_mut(), DeValue::Boolean(false));
    match &mut inner {
        DeValue::Array(items) => items.iter_mut().for_each(|e| shift_node(e, by)),
        DeValue::Table(t) => shift_table(t, by),
        _ => {}
    }
    *node = Spanned::new(span, inner);
}

/// Lays `over` on `base`: tables merge key by key, anything else replaces.
/// The result keeps `over`'s spans where it has them.
pub(crate) fn merge<'i>(base: &mut DeTable<'i>, over: DeTable<'i>) {
    for (key, value) in over {
        let span = value.span();
        let existing = base.remove(key.get_ref().as_ref());
        let merged = match (existing.map(Spanned::into_inner), value.into_inner()) {
            (Some(DeValue::Table(mut b)), DeValue::Table(o)) => {
                merge(&mut b, o);
                DeValue::Table(b)
            }
            (_, o) => o,
        };
        base.insert(key, Spanned::new(span, merged));
    }
}

/// Sets `segs` to `value`, creating tables on the way. Fails with the
/// prefix that exists but is not a table.
pub(crate) fn set<'i>(
    root: &mut DeTable<'i>,
    segs: &[String],
    key_span: Range<usize>,
    value: Node<'i>,
) -> Result<(), KeyPath> {
    let mut table = root;
    let mut path = KeyPath::root();
    let Some((last, parents)) = segs.split_last() else {
        return Err(path);
    };
    for seg in parents {
        path = path.key(seg);
        let empty = key_span.start..key_span.start;
        let entry = table
            .entry(Spanned::new(empty.clone(), Cow::Owned(seg.clone())))
            .or_insert_with(|| Spanned::new(empty, DeValue::Table(DeTable::new())));
        match entry.get_mut() {
            DeValue::Table(t) => table = t,
            _ => return Err(path),
        }
    }
    let mut over = DeTable::new();
    over.insert(Spanned::new(key_span, Cow::Owned(last.clone())), value);
    merge(table, over);
    Ok(())
}

/// The deepest node whose key or value has exactly `span`: serde errors
/// from the toml crate carry the span of the key (unknown field) or of the
/// value (bad value, missing field of a table). Deepest, because an array
/// of tables shares its span with its first element.
pub(crate) fn find(root: &DeTable<'_>, span: &Range<usize>) -> Option<KeyPath> {
    let mut best = None;
    find_in_table(root, span, &mut KeyPath::root(), &mut best);
    best
}

fn find_in_table(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut KeyPath,
    best: &mut Option<KeyPath>,
) {
    for (key, value) in table.iter() {
        path.0.push(Seg::Key(key.get_ref().to_string()));
        if key.span() == *span {
            consider(path, best);
        }
        find_in_node(value, span, path, best);
        path.0.pop();
    }
}

fn find_in_node(
    node: &Node<'_>,
    span: &Range<usize>,
    path: &mut KeyPath,
    best: &mut Option<KeyPath>,
) {
    if node.span() == *span {
        consider(path, best);
    }
    match node.get_ref() {
        DeValue::Table(t) => find_in_table(t, span, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.0.push(Seg::Index(i));
                find_in_node(item, span, path, best);
                path.0.pop();
            }
        }
        _ => {}
    }
}

fn consider(path: &KeyPath, best: &mut Option<KeyPath>) {
    if best.as_ref().is_none_or(|b| path.0.len() > b.0.len()) {
        *best = Some(path.clone());
    }
}

/// The node at `path`, if there is one.
pub(crate) fn get<'a, 'i>(root: &'a DeTable<'i>, path: &KeyPath) -> Option<&'a Node<'i>> {
    let (first, rest) = path.0.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut node = root.get(k.as_str())?;
    for seg in rest {
        node = match (seg, node.get_ref()) {
            (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Where an error about `path` points: the key of a table entry (so the
/// column is where the line `key = value` starts), the element of an
/// array, or, for a path that does not exist (a missing field), the
/// nearest ancestor that does.
pub(crate) fn position(root: &DeTable<'_>, path: &KeyPath) -> Option<usize> {
    let mut at = None;
    let mut table = Some(root);
    let mut array: Option<&DeArray<'_>> = None;
    for seg in &path.0 {
        let node = match seg {
            Seg::Key(k) => {
                let Some((key, node)) = table.and_then(|t| t.get_key_value(k.as_str())) else {
                    break;
                };
                at = Some(key.span().start);
                node
            }
            Seg::Index(i) => {
                let Some(node) = array.and_then(|a| a.get(*i)) else {
                    break;
                };
                at = Some(node.span().start);
                node
            }
        };
        table = node.get_ref().as_table();
        array = node.get_ref().as_array();
    }
    at
}

/// Replaces the node at `path`, or removes it when `with` is None. Returns
/// whether anything changed.
pub(crate) fn replace<'i>(root: &mut DeTable<'i>, path: &KeyPath, with: Option<Node<'i>>) -> bool {
    let Some((last, parents)) = path.0.split_last() else {
        return false;
    };
    let mut table: Option<&mut DeTable<'i>> = Some(root);
    let mut array: Option<&mut DeArray<'i>> = None;
    for seg in parents {
        let node = match seg {
            Seg::Key(k) => table.take().and_then(|t| t.get_mut(k.as_str())),
            Seg::Index(i) => array.take().and_then(|a| a.get_mut(*i)),
        };
        let Some(node) = node else { return false };
        match node.get_mut() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => return false,
        }
    }
    match (last, table, array) {
        (Seg::Key(k), Some(t), _) => match with {
            Some(node) => match t.get_mut(k.as_str()) {
                Some(slot) => {
                    *slot = node;
                    true
                }
                None => false,
            },
            None => t.remove(k.as_str()).is_some(),
        },
        (Seg::Index(i), _, Some(a)) => {
            if *i >= a.len() {
                return false;
            }
            match with {
                Some(node) => match a.get_mut(*i) {
                    Some(slot) => *slot = node,
                    None => return false,
                },
                None => {
                    let kept: DeArray<'i> = std::mem::replace(a, DeArray::new())
                        .into_iter()
                        .enumerate()
                        .filter(|(n, _)| n != i)
                        .map(|(_, e)| e)
                        .collect();
                    *a = kept;
                }
            }
            true
        }
        _ => false,
    }
}
