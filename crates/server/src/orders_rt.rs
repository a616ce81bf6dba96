//! The work-order service's tasks: connect (retrying while the database is down), put the
//! configured users in, draft an order for every finished call, and run the scheduler, the
//! outbox and the session purge on their timers. Only timers and bytes here: the rules are in
//! `hotline-orders` and `hotline-workorder`, which take `now` from these loops.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hotline_cdr::CallRecord;
use hotline_orders::{OrderService, auth, outbox::Outbox};
use hotline_store::{Store, UserRow};
use hotline_workorder::Role;
use tokio::sync::{OnceCell, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::orders_api::ConfigUser;
use crate::settings::OrdersSetup;

/// How far back the catch-up scan looks for call records without an order.
const CATCH_UP_DAYS: i64 = 7;

pub struct OrdersRuntime {
    pub service: Arc<OnceCell<OrderService>>,
    pub drafts: mpsc::UnboundedSender<CallRecord>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl OrdersRuntime {
    pub fn start(setup: OrdersSetup, users: Arc<Vec<ConfigUser>>, database_url: String) -> Self {
        let service = Arc::new(OnceCell::new());
        let (drafts, rx) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            setup,
            users,
            database_url,
            service.clone(),
            rx,
            stop.clone(),
        ));
        OrdersRuntime {
            service,
            drafts,
            stop,
            task,
        }
    }

    /// Stops the loops; drafts not yet written are found by the next start's catch-up scan.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn run(
    setup: OrdersSetup,
    users: Arc<Vec<ConfigUser>>,
    url: String,
    cell: Arc<OnceCell<OrderService>>,
    mut drafts: mpsc::UnboundedReceiver<CallRecord>,
    stop: CancellationToken,
) {
    let calendar = match hotline_calendar::Calendar::embedded() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the shipped calendar does not load; work orders are off");
            return;
        }
    };
    let store = loop {
        match Store::connect(&url).await {
            Ok(s) => break s,
            Err(e) => {
                warn!(error = %e, "work orders: database not reachable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        }
    };
    if let Err(e) = put_users(&store, &users).await {
        warn!(error = %e, "work orders: configured users not stored");
    }
    let svc = OrderService::new(store.clone(), setup.settings.clone(), calendar);
    if let Err(e) = svc.reload_calendar().await {
        warn!(error = %e, "work orders: calendar overrides not loaded");
    }
    match svc.mark_unchecked(Utc::now()).await {
        Ok(0) => {}
        Ok(n) => info!(
            orders = n,
            "open orders without a check time marked for the scheduler"
        ),
        Err(e) => warn!(error = %e, "work orders: open orders not marked for the scheduler"),
    }
    let _ = cell.set(svc.clone());
    info!("work orders ready");

    // With SMS off no SMS rows are queued (Settings::sms), so the sink is never used then.
    let outbox = Outbox {
        sms: setup
            .sms
            .clone()
            .unwrap_or(hotline_orders::outbox::SmsSink::Log),
        retry: setup.outbox_retry,
        timeout: Duration::from_secs(5),
    };
    let mut scan = tokio::time::interval(setup.draft_scan);
    let mut schedule = tokio::time::interval(setup.scheduler_interval);
    let mut deliver = tokio::time::interval(Duration::from_secs(2));
    let mut purge = tokio::time::interval(Duration::from_secs(3600));
    for t in [&mut scan, &mut schedule, &mut deliver, &mut purge] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                // The last calls' drafts, so a clean shutdown leaves none to the next scan.
                while let Ok(rec) = drafts.try_recv() {
                    if let Err(e) = svc.draft(&rec).await {
                        warn!(record = %rec.id, error = %e, "draft failed; the next start's scan will make it");
                    }
                }
                return;
            }
            Some(rec) = drafts.recv() => {
                if let Err(e) = svc.draft(&rec).await {
                    // The catch-up scan drafts it once the record and the database are there.
                    warn!(record = %rec.id, error = %e, "draft failed; the scan will retry");
                }
            }
            _ = scan.tick() => {
                let since = Utc::now() - chrono::Duration::days(CATCH_UP_DAYS);
                match svc.catch_up(since).await {
                    Ok(0) => {}
                    Ok(n) => info!(drafted = n, "drafted orders of call records that had none"),
                    Err(e) => warn!(error = %e, "draft scan failed"),
                }
            }
            _ = schedule.tick() => {
                if let Err(e) = svc.schedule(Utc::now()).await {
                    warn!(error = %e, "scheduler pass failed");
                }
            }
            _ = deliver.tick() => {
                if let Err(e) = outbox.pass(&store, Utc::now(), 100).await {
                    warn!(error = %e, "outbox pass failed");
                }
            }
            _ = purge.tick() => {
                if let Err(e) = store.purge_sessions(Utc::now()).await {
                    warn!(error = %e, "session purge failed");
                }
            }
        }
    }
}

/// The config file's users with argon2 hashes (a dev `password` is hashed here, once per
/// start), for the database and for log-in while it is away.
pub async fn hash_config_users(users: &[hotline_config::User]) -> Vec<ConfigUser> {
    let users = users.to_vec();
    tokio::task::spawn_blocking(move || {
        users
            .into_iter()
            .filter_map(|u| {
                let hash = match &u.password {
                    hotline_config::UserPassword::Hash(h) => h.expose().to_string(),
                    hotline_config::UserPassword::Plain(p) => match auth::hash_password(p.expose()) {
                        Ok(h) => h,
                        Err(e) => {
                            warn!(user = %u.id, error = %e, "cannot hash the password; user left out");
                            return None;
                        }
                    },
                };
                let role = match (u.role, u.unit.clone()) {
                    (hotline_config::UserRole::Agent, _) => Role::Agent,
                    (hotline_config::UserRole::Supervisor, _) => Role::Supervisor,
                    (hotline_config::UserRole::Admin, _) => Role::Admin,
                    (hotline_config::UserRole::UnitStaff, Some(unit)) => Role::UnitStaff(unit),
                    (hotline_config::UserRole::UnitHead, Some(unit)) => Role::UnitHead(unit),
                    // The config check refuses a unit role without its unit.
                    (_, None) => return None,
                };
                Some(ConfigUser {
                    id: u.id,
                    name: u.name,
                    role,
                    password_hash: hash,
                })
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// The configured users, put into the database at start: the file is the truth for the ids
/// it names (a changed password or role there wins); users added by the API stay.
async fn put_users(store: &Store, users: &[ConfigUser]) -> anyhow::Result<()> {
    for u in users {
        let (role, unit) = match &u.role {
            Role::Agent => ("agent", None),
            Role::Supervisor => ("supervisor", None),
            Role::UnitStaff(unit) => ("unit_staff", Some(unit.clone())),
            Role::UnitHead(unit) => ("unit_head", Some(unit.clone())),
            _ => ("admin", None),
        };
        store
            .put_user(&UserRow {
                id: u.id.clone(),
                name: u.name.clone(),
                role: role.to_string(),
                unit,
                password_hash: u.password_hash.clone(),
                disabled: false,
                created_at: Utc::now(),
            })
            .await?;
    }
    Ok(())
}
