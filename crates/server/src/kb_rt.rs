//! The knowledge base's start: once the work orders' database answers, open (or create) the
//! search index, rebuild it when it is missing or stale, put the demo sample into an empty
//! knowledge base when asked, then serve. Only waiting and bytes here: the rules are in
//! `hotline-knowledge`, `hotline-kb` and `hotline-kb-search`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hotline_kb::{Actor, Format, KbRole};
use hotline_kb_search::SearchIndex;
use hotline_knowledge::KbService;
use hotline_orders::OrderService;
use hotline_store::KbQuery;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::settings::KbSetup;

/// The synthetic sample knowledge base for demos (written for this project).
const SAMPLE: &str = include_str!("../../../config/kb/sample.json");

pub struct KbRuntime {
    pub service: Arc<OnceCell<KbService>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl KbRuntime {
    pub fn start(setup: KbSetup, orders: Arc<OnceCell<OrderService>>) -> Self {
        let service = Arc::new(OnceCell::new());
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(setup, orders, service.clone(), stop.clone()));
        KbRuntime {
            service,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.cancelled() => false,
    }
}

async fn run(
    setup: KbSetup,
    orders: Arc<OnceCell<OrderService>>,
    cell: Arc<OnceCell<KbService>>,
    stop: CancellationToken,
) {
    // The same database as the work orders: its connection is made (and retried) there.
    let store = loop {
        if let Some(o) = orders.get() {
            break o.store().clone();
        }
        if !pause(&stop, Duration::from_millis(200)).await {
            return;
        }
    };
    let lexicon = setup.lexicon.clone();
    let dir = setup.index_dir.clone();
    let index = tokio::task::spawn_blocking(move || match &dir {
        Some(d) => {
            std::fs::create_dir_all(d).ok();
            SearchIndex::open_or_create(d, lexicon)
        }
        None => SearchIndex::in_memory(lexicon),
    })
    .await;
    let index = match index {
        Ok(Ok(i)) => i,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "knowledge base: the search index cannot be opened; the knowledge base is off");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "knowledge base: the index task failed");
            return;
        }
    };
    let svc = KbService::new(store.clone(), index);
    loop {
        match svc.sync_index().await {
            Ok(Some(stats)) => {
                info!(?stats, "knowledge base: index rebuilt from the database");
                break;
            }
            Ok(None) => {
                info!("knowledge base: index current");
                break;
            }
            Err(e) => {
                warn!(error = %e, "knowledge base: index not synced; retrying");
                if !pause(&stop, Duration::from_secs(2)).await {
                    return;
                }
            }
        }
    }
    if setup.load_sample {
        let empty = store
            .kb_list(&KbQuery {
                unit: None,
                state: None,
                kind: None,
                category_prefix: None,
                after_id: None,
                limit: 1,
            })
            .await
            .map(|r| r.is_empty());
        if let Ok(true) = empty {
            let system = Actor {
                id: "sample".into(),
                role: KbRole::Maintainer,
            };
            match svc.import(&system, Format::Json, SAMPLE, Utc::now()).await {
                Ok(ids) => info!(entries = ids.len(), "knowledge base: sample loaded"),
                Err(e) => warn!(error = %e, "knowledge base: sample not loaded"),
            }
        }
    }
    let _ = cell.set(svc);
    info!("knowledge base ready");
}
