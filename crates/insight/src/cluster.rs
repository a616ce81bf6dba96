//! Near-duplicate requests: the same issue at the same place, reported again and again (one
//! burst pipe, one noisy building site). Requests of one area whose informative words overlap
//! enough (Jaccard), and whose addresses do too when both have one, are joined; a cluster is
//! a connected group of at least `min_size`.
//!
//! Candidates come from shared rare words (each request's few rarest words, per area), not
//! from every pair, so a month of a city's requests is clustered in one pass; a word used by
//! too many requests of an area says nothing about a place and is not a candidate key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::facts::OrderFact;
use crate::terms::{STOP_WORDS, informative};

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Word sets at least this similar (Jaccard) are the same issue.
    pub min_similarity: f64,
    /// Addresses (character pairs) at least this similar are the same place.
    pub min_address_similarity: f64,
    /// At one address (addresses this similar) and in one category, little overlap of words
    /// is enough: callers describe one burst pipe in different words (污水井堵塞 and 污水管道
    /// 堵了 share only 污水), but at the same door.
    pub same_address: f64,
    pub min_similarity_at_same_address: f64,
    pub min_size: usize,
    /// Only requests of the same (finest) category are the same issue: without it, one
    /// address's different problems, or one wording's different places, chain together.
    pub same_category: bool,
    /// How many of a request's rarest words it is bucketed by.
    pub keys_per_request: usize,
    /// A bucket larger than this is skipped (its word is too common to tell places apart).
    pub max_bucket: usize,
    pub stop: BTreeSet<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            min_similarity: 0.45,
            min_address_similarity: 0.5,
            same_address: 0.8,
            min_similarity_at_same_address: 0.15,
            min_size: 5,
            same_category: true,
            keys_per_request: 4,
            max_bucket: 400,
            stop: STOP_WORDS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub area: String,
    /// The members' most common address.
    pub address: String,
    /// The words most members share, most shared first.
    pub words: Vec<String>,
    /// The orders, oldest first.
    pub orders: Vec<String>,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

fn jaccard<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        return 0.0;
    }
    inter as f64 / union as f64
}

/// Character pairs of an address, spaces and punctuation dropped.
fn bigrams(s: &str) -> BTreeSet<(char, char)> {
    let cs: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
    cs.windows(2).map(|w| (w[0], w[1])).collect()
}

struct Union(Vec<usize>);

impl Union {
    fn find(&mut self, i: usize) -> usize {
        let mut r = i;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut i = i;
        while self.0[i] != r {
            let next = self.0[i];
            self.0[i] = r;
            i = next;
        }
        r
    }
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// The clusters among `facts`, biggest first.
pub fn clusters(facts: &[&OrderFact], cfg: &ClusterConfig) -> Vec<Cluster> {
    let words: Vec<BTreeSet<&str>> = facts.iter().map(|f| informative(f, &cfg.stop, 2)).collect();
    let addresses: Vec<BTreeSet<(char, char)>> =
        facts.iter().map(|f| bigrams(&f.address)).collect();
    // The address as one key, marked so that it never equals a word.
    let squashed: Vec<String> = facts
        .iter()
        .map(|f| {
            let a: String = f.address.chars().filter(|c| c.is_alphanumeric()).collect();
            if a.is_empty() { a } else { format!("@{a}") }
        })
        .collect();
    // Document frequency per area: how rare a word is where the request is.
    let mut df: HashMap<(&str, &str), usize> = HashMap::new();
    for (f, ws) in facts.iter().zip(&words) {
        for w in ws {
            *df.entry((f.area.as_str(), *w)).or_default() += 1;
        }
    }
    let mut buckets: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, (f, ws)) in facts.iter().zip(&words).enumerate() {
        let mut keyed: Vec<(&str, usize)> = ws
            .iter()
            .map(|w| (*w, df[&(f.area.as_str(), *w)]))
            .filter(|(_, n)| *n >= 2)
            .collect();
        keyed.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        for (w, _) in keyed.into_iter().take(cfg.keys_per_request) {
            buckets.entry((f.area.as_str(), w)).or_default().push(i);
        }
        // Requests at one address are always compared, however differently they are worded.
        if !squashed[i].is_empty() {
            buckets
                .entry((f.area.as_str(), squashed[i].as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut u = Union((0..facts.len()).collect());
    let mut checked: BTreeSet<(usize, usize)> = BTreeSet::new();
    for members in buckets.values() {
        if members.len() < 2 || members.len() > cfg.max_bucket {
            continue;
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if !checked.insert((i.min(j), i.max(j))) {
                    continue;
                }
                if cfg.same_category && facts[i].category != facts[j].category {
                    continue;
                }
                let text = jaccard(&words[i], &words[j]);
                let place = if addresses[i].is_empty() || addresses[j].is_empty() {
                    None
                } else {
                    Some(jaccard(&addresses[i], &addresses[j]))
                };
                let joined = match place {
                    Some(p) if p >= cfg.same_address => text >= cfg.min_similarity_at_same_address,
                    Some(p) => p >= cfg.min_address_similarity && text >= cfg.min_similarity,
                    None => text >= cfg.min_similarity,
                };
                if joined {
                    u.join(i, j);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..facts.len() {
        let r = u.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Cluster> = groups
        .into_values()
        .filter(|g| g.len() >= cfg.min_size)
        .map(|mut g| {
            g.sort_by(|&a, &b| {
                facts[a]
                    .at
                    .cmp(&facts[b].at)
                    .then_with(|| facts[a].no.cmp(&facts[b].no))
            });
            let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
            let mut addr: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in &g {
                for w in &words[i] {
                    *shared.entry(w).or_default() += 1;
                }
                if !facts[i].address.is_empty() {
                    *addr.entry(facts[i].address.as_str()).or_default() += 1;
                }
            }
            let mut common: Vec<(&str, usize)> = shared
                .into_iter()
                .filter(|(_, n)| *n * 2 >= g.len())
                .collect();
            common.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let address = addr
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
            Cluster {
                area: facts[g[0]].area.clone(),
                address,
                words: common
                    .into_iter()
                    .take(8)
                    .map(|(w, _)| w.to_string())
                    .collect(),
                first_at: facts[g[0]].at,
                last_at: facts[*g.last().expect("a cluster has members")].at,
                orders: g.iter().map(|&i| facts[i].no.clone()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.orders
            .len()
            .cmp(&a.orders.len())
            .then_with(|| a.first_at.cmp(&b.first_at))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_is_intersection_over_union() {
        let a: BTreeSet<i32> = [1, 2, 3, 4].into();
        let b: BTreeSet<i32> = [3, 4, 5, 6].into();
        assert!(
            (jaccard(&a, &b) - 2.0 / 6.0).abs() < 1e-9,
            "{}",
            jaccard(&a, &b)
        );
        assert!((jaccard(&a, &a) - 1.0).abs() < 1e-9);
        let e: BTreeSet<i32> = BTreeSet::new();
        assert_eq!(jaccard(&a, &e), 0.0);
        assert_eq!(jaccard(&e, &e), 0.0);
    }
}
