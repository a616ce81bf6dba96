//! Writes a synthetic month of 12345 orders (`hotline_insight::synth`) for demos and tests:
//! as JSON lines on stdout, or straight into a hotline database's analysis facts.
//!
//! ```text
//! cargo run -p hotline-insight --example synth_month -- --month 2026-01 --seed 7 --plant > month.jsonl
//! cargo run -p hotline-insight --example synth_month -- --month 2026-01 --plant \
//!     --database sqlite://hotline.db
//! ```
//! `--plant` adds the planted cluster, spike and sensitive requests; `--per-day N` sets the
//! weekday volume (150); the month's 28 days before are generated too (the baselines).

use hotline_insight::synth::{MonthSpec, month};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let ym = value("--month").unwrap_or_else(|| "2026-01".into());
    let (y, m) = ym
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m))
        .ok_or_else(|| format!("--month {ym}: give YYYY-MM"))?;
    let seed = value("--seed").and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut spec = MonthSpec::normal(y, m, seed);
    if let Some(n) = value("--per-day").and_then(|s| s.parse().ok()) {
        spec.per_day = n;
    }
    let plant = args.iter().any(|a| a == "--plant");
    spec.plant_cluster = plant;
    spec.plant_spike = plant;
    spec.plant_sensitive = plant;
    let (facts, planted) = month(&spec, &|_| Vec::new());
    match value("--database") {
        None => {
            use std::io::Write;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for f in &facts {
                // A reader that stops early (`| head`) is not an error of ours.
                if writeln!(out, "{}", serde_json::to_string(f)?).is_err() {
                    return Ok(());
                }
            }
            if out.flush().is_err() {
                return Ok(());
            }
        }
        Some(url) => {
            let rows: Vec<hotline_store::OrderFactRow> = facts
                .iter()
                .map(hotline_store::OrderFactRow::from)
                .collect();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let store = hotline_store::Store::connect(&url).await?;
                store.upsert_order_facts(&rows).await?;
                store.close().await;
                Ok::<_, hotline_store::StoreError>(())
            })?;
            eprintln!("{} orders written to {url}", rows.len());
        }
    }
    if plant {
        eprintln!(
            "planted: cluster of {} at {}, spike of {} on {:?}, sensitive {:?}",
            planted.cluster.len(),
            planted.cluster_address,
            planted.spike_orders.len(),
            planted.spike_day,
            planted.sensitive
        );
    }
    Ok(())
}
