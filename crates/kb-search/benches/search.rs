//! Search speed at scale (a benchmark, not a test): builds N synthetic entries from the sample
//! knowledge base's vocabulary, rebuilds an on-disk index from them, and times searches of
//! three kinds — a few words, a caller's sentence, a whole typed description — with and
//! without filters. Prints rebuild time, index size, peak memory and latency percentiles.
//!
//! cargo bench -p hotline-kb-search --bench search -- --entries 100000 --queries 2000
//!
//! Options: --entries N (100000), --queries N per class (2000), --sample PATH
//! (config/kb/sample.json), --seed N.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hotline_kb::{Entry, Validity};
use hotline_kb_search::{Doc, Lexicon, Query, SearchIndex};

/// SplitMix64: a deterministic generator, so every run indexes and asks the same things.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

struct Args {
    entries: usize,
    queries: usize,
    sample: String,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        entries: 100_000,
        queries: 2_000,
        sample: concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/kb/sample.json").into(),
        seed: 12345,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--entries" => a.entries = val().parse().expect("--entries N"),
            "--queries" => a.queries = val().parse().expect("--queries N"),
            "--sample" => a.sample = val(),
            "--seed" => a.seed = val().parse().expect("--seed N"),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// Peak and current resident memory in MB, from /proc/self/status.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmHWM:"), kb("VmRSS:"))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The sample's words, each as often as the sample uses it, so picks follow real frequencies.
struct Vocabulary {
    words: Vec<String>,
    entries: Vec<Entry>,
    /// Each sample entry's title and body cut into words.
    titles: Vec<Vec<String>>,
    bodies: Vec<Vec<String>>,
}

impl Vocabulary {
    fn load(path: &str) -> Vocabulary {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (the bench builds from the sample KB)"));
        let entries = hotline_kb::parse_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let jieba = jieba_rs::Jieba::new();
        let cut = |s: &str| -> Vec<String> {
            jieba
                .cut(s, true)
                .into_iter()
                .map(|t| t.word.to_string())
                .collect()
        };
        let titles: Vec<Vec<String>> = entries.iter().map(|e| cut(&e.title)).collect();
        let bodies: Vec<Vec<String>> = entries.iter().map(|e| cut(&e.body)).collect();
        let words = titles
            .iter()
            .chain(&bodies)
            .flatten()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .cloned()
            .collect();
        Vocabulary {
            words,
            entries,
            titles,
            bodies,
        }
    }

    /// Words of `base` with about `replace`% of them swapped for random sample words.
    fn vary(&self, rng: &mut Rng, base: &[String], replace: u64) -> String {
        base.iter()
            .map(|w| {
                if w.chars().any(char::is_alphanumeric) && rng.chance(replace) {
                    rng.pick(&self.words).as_str()
                } else {
                    w.as_str()
                }
            })
            .collect()
    }

    fn sentence(&self, rng: &mut Rng, words: usize) -> String {
        let mut s: String = (0..words).map(|_| rng.pick(&self.words).as_str()).collect();
        s.push('。');
        s
    }

    fn entry(&self, rng: &mut Rng, i: usize) -> Entry {
        let b = rng.below(self.entries.len());
        let base = &self.entries[b];
        let mut title = self.vary(rng, &self.titles[b], 35);
        // Titles are short questions; keep them within the KB's limit.
        title = title.chars().take(60).collect();
        if rng.chance(30) {
            title.push_str(&format!("（{}）", i % 997));
        }
        // The base's answer reworded, with a sentence or two from other answers: entries on one
        // topic share words without being copies of each other.
        let mut body = self.vary(rng, &self.bodies[b], 30);
        for _ in 0..1 + rng.below(2) {
            let o = rng.below(self.entries.len());
            let sentences: Vec<&str> = self.entries[o].body.split_inclusive(['。', '；']).collect();
            let s: &str = rng.pick::<&str>(&sentences);
            body.push_str(s);
        }
        if rng.chance(50) {
            let n = 10 + rng.below(30);
            body.push_str(&self.sentence(rng, n));
        }
        let validity = if rng.chance(20) {
            let from = NaiveDate::from_ymd_opt(2020, 1, 1)
                .and_then(|d| d.checked_add_days(chrono::Days::new(rng.below(2000) as u64)));
            let to = from
                .and_then(|d| d.checked_add_days(chrono::Days::new(30 + rng.below(700) as u64)));
            Validity {
                from,
                to: if rng.chance(50) { to } else { None },
            }
        } else {
            Validity::default()
        };
        Entry {
            kind: base.kind,
            category: base.category.clone(),
            title,
            body,
            unit: base.unit.clone(),
            keywords: base.keywords.clone(),
            validity,
        }
    }
}

const OPENINGS: &[&str] = &[
    "我想问一下",
    "你好，请问",
    "喂，那个",
    "我家",
    "我想咨询一下",
    "您好",
];
const CLOSINGS: &[&str] = &[
    "怎么办啊",
    "找哪个部门",
    "吗",
    "需要什么材料",
    "在哪里办",
    "。",
];

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Class {
    Short,
    Sentence,
    Long,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Short => "short (1-2 words)",
            Class::Sentence => "caller sentence",
            Class::Long => "typed text (~1-3k chars)",
        }
    }
}

fn query_text(v: &Vocabulary, rng: &mut Rng, class: Class) -> String {
    let b = rng.below(v.entries.len());
    match class {
        Class::Short => {
            let content: Vec<&String> = v.titles[b]
                .iter()
                .filter(|w| w.chars().count() >= 2)
                .collect();
            let n = 1 + rng.below(2);
            (0..n)
                .map(|_| {
                    if content.is_empty() {
                        rng.pick(&v.words).as_str()
                    } else {
                        rng.pick(&content).as_str()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        Class::Sentence => format!(
            "{}{}{}",
            rng.pick(OPENINGS),
            v.vary(rng, &v.titles[b], 20),
            rng.pick(CLOSINGS)
        ),
        Class::Long => {
            let target = 1000 + rng.below(2000);
            let mut s = format!("来电人反映：{}", v.vary(rng, &v.titles[b], 10));
            while s.chars().count() < target {
                let o = rng.below(v.entries.len());
                s.push_str(&v.vary(rng, &v.bodies[o], 20));
            }
            s.chars().take(target).collect()
        }
    }
}

fn with_filters(v: &Vocabulary, rng: &mut Rng, mut q: Query) -> Query {
    let base = rng.pick(&v.entries);
    q.valid_on = NaiveDate::from_ymd_opt(2025, 6, 1);
    match rng.below(3) {
        0 => q.kind = Some(base.kind),
        1 => {
            q.category = base.category.split('/').next().map(str::to_string);
        }
        _ => q.unit = Some(base.unit.clone()),
    }
    q
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let a = args();
    let (hwm0, _) = memory();
    let vocab = Vocabulary::load(&a.sample);
    let mut rng = Rng(a.seed);
    let docs: Vec<Doc> = (0..a.entries)
        .map(|i| Doc {
            id: format!("e{i}"),
            version: 1,
            entry: vocab.entry(&mut rng, i),
        })
        .collect();
    let text_mb: f64 = docs
        .iter()
        .map(|d| (d.entry.title.len() + d.entry.body.len()) as f64)
        .sum::<f64>()
        / 1e6;
    let (hwm_docs, rss_docs) = memory();

    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let index = SearchIndex::open_or_create(dir.path(), Lexicon::default_set()).expect("index");
    let open_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let stats = index
        .rebuild(docs.iter().cloned(), "bench")
        .expect("rebuild");
    let rebuild_s = t.elapsed().as_secs_f64();
    let size_mb = dir_size(dir.path()) as f64 / 1e6;
    let (hwm_built, rss_built) = memory();

    // Queries made up front, so generating them is not timed.
    let mut plan: Vec<(Class, bool, Query)> = Vec::new();
    for class in [Class::Short, Class::Sentence, Class::Long] {
        for i in 0..a.queries {
            let q = Query::text(query_text(&vocab, &mut rng, class));
            let filtered = i % 2 == 1;
            let q = if filtered {
                with_filters(&vocab, &mut rng, q)
            } else {
                q
            };
            plan.push((class, filtered, q));
        }
    }
    // Mixed order, as an agent's queries arrive.
    for i in (1..plan.len()).rev() {
        let j = rng.below(i + 1);
        plan.swap(i, j);
    }
    for (_, _, q) in plan.iter().take(200) {
        let _ = index.search(q).expect("search");
    }
    let mut times: HashMap<(Class, bool), Vec<Duration>> = HashMap::new();
    let mut empty = 0;
    for (class, filtered, q) in &plan {
        let t = Instant::now();
        let hits = index.search(q).expect("search");
        times
            .entry((*class, *filtered))
            .or_default()
            .push(t.elapsed());
        if hits.is_empty() {
            empty += 1;
        }
    }
    // Publishing one entry: upsert and commit, visible to the next search.
    let mut upserts = Vec::new();
    for d in docs.iter().take(50) {
        let t = Instant::now();
        index.upsert(d.clone(), "bench-2").expect("upsert");
        upserts.push(t.elapsed());
    }
    upserts.sort();
    let (hwm_end, rss_end) = memory();

    println!(
        "hotline-kb-search bench: {} entries ({text_mb:.0} MB of text), {} queries per class",
        stats.docs, a.queries
    );
    println!();
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!("| open (dictionary load) | {open_s:.2} s |");
    println!("| rebuild | {rebuild_s:.2} s |");
    println!("| index on disk | {size_mb:.0} MB |");
    println!(
        "| peak RSS before the index (entries in memory) | {hwm_docs:.0} MB (start {hwm0:.0} MB, RSS {rss_docs:.0} MB) |"
    );
    println!("| peak RSS after rebuild | {hwm_built:.0} MB (RSS {rss_built:.0} MB) |");
    println!("| peak RSS at the end | {hwm_end:.0} MB (RSS {rss_end:.0} MB) |");
    println!(
        "| upsert (commit + reload), p50 / max | {:.1} / {:.1} ms |",
        percentile(&upserts, 0.5),
        percentile(&upserts, 1.0)
    );
    println!("| queries with no hit | {empty} of {} |", plan.len());
    println!();
    println!("| query class | filters | p50 ms | p90 ms | p99 ms | max ms |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    let mut all: Vec<Duration> = times.values().flatten().copied().collect();
    all.sort();
    let mut keys: Vec<_> = times.keys().copied().collect();
    keys.sort();
    for k in keys {
        let mut v = times.remove(&k).unwrap_or_default();
        v.sort();
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            k.0.name(),
            if k.1 { "yes" } else { "no" },
            percentile(&v, 0.5),
            percentile(&v, 0.9),
            percentile(&v, 0.99),
            percentile(&v, 1.0)
        );
    }
    println!(
        "| all | mixed | {:.2} | {:.2} | {:.2} | {:.2} |",
        percentile(&all, 0.5),
        percentile(&all, 0.9),
        percentile(&all, 0.99),
        percentile(&all, 1.0)
    );
}
