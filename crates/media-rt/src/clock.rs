//! The pacing clock: dedicated OS threads that run every call's 20 ms ticks on time.
//!
//! Measured (bench/ivr-media.sh, 1,000 calls, 2026-12-01): with one tokio sleep per call, the
//! typical prompt packet left 2-5 ms after it was due and 3-7 % more than 5 ms late, because a
//! runtime that is busy polling sockets looks at its timer wheel only now and then. These
//! threads sleep on a condition variable with a precise timeout instead, and each tick's work
//! (one packet, a jitter-buffer pop) is short and needs no await, so it runs right here rather
//! than waking a task to do it. The tasks keep the sockets and react to packets at once.
//!
//! A call registers a [`Tick`] (what to run) and tells its shard when it is next due; the shard
//! keeps a heap of deadlines and skips entries that a later [`Clock::schedule`] superseded.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

use hotline_media::session::Micros;

use crate::call::now_micros;

/// What a shard runs when a call is due. The call reschedules itself ([`Registration::schedule`])
/// while it holds its own lock, so deadlines are set in the same order as the state they
/// come from, whichever thread (clock or task) changed it.
pub(crate) trait Tick: Send + Sync {
    /// Runs the tick unless the call's lock is held (its task is handling a packet); returns
    /// whether it ran. The clock never waits on a call's lock: the holder may be a thread the
    /// clock itself just preempted, and waiting for it would delay every other call's tick.
    fn try_tick(&self, now: Micros) -> bool;
}

struct Entry {
    call: Weak<dyn Tick>,
    /// The deadline this call wants now; heap entries with another one are stale.
    due: Arc<AtomicU64>,
}

#[derive(Default)]
struct Shard {
    heap: BinaryHeap<Reverse<(Micros, u64)>>,
    calls: HashMap<u64, Entry>,
}

struct ShardHandle {
    state: Mutex<Shard>,
    wake: Condvar,
}

/// The clock's threads, one per core (calls are spread over them by id).
pub(crate) struct Clock {
    shards: Vec<Arc<ShardHandle>>,
    next_id: AtomicU64,
}

/// A call's registration; dropping it removes the call from its shard.
pub(crate) struct Registration {
    shard: Arc<ShardHandle>,
    id: u64,
    due: Arc<AtomicU64>,
}

impl Registration {
    /// The call is next due at `at` (replacing what it said before).
    pub(crate) fn schedule(&self, at: Micros) {
        let old = self.due.swap(at, Ordering::AcqRel);
        if old == at || at == Micros::MAX {
            return;
        }
        let mut s = self.shard.state.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = s.heap.peek().map(|Reverse((t, _))| *t);
        s.heap.push(Reverse((at, self.id)));
        drop(s);
        if earliest.is_none_or(|e| at < e) {
            self.shard.wake.notify_one();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut s = self.shard.state.lock().unwrap_or_else(|e| e.into_inner());
        s.calls.remove(&self.id);
    }
}

impl Clock {
    pub(crate) fn global() -> &'static Clock {
        static CLOCK: OnceLock<Clock> = OnceLock::new();
        CLOCK.get_or_init(|| {
            let n = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 16);
            let shards = (0..n)
                .map(|i| {
                    let shard = Arc::new(ShardHandle {
                        state: Mutex::new(Shard::default()),
                        wake: Condvar::new(),
                    });
                    let s = shard.clone();
                    std::thread::Builder::new()
                        .name(format!("media-clock-{i}"))
                        .spawn(move || {
                            realtime_priority();
                            run(&s)
                        })
                        .ok();
                    shard
                })
                .collect();
            Clock {
                shards,
                next_id: AtomicU64::new(1),
            }
        })
    }

    /// Registers a call; it is run first when it calls [`Registration::schedule`].
    pub(crate) fn register(&self, call: Weak<dyn Tick>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shard = self.shards[(id as usize) % self.shards.len()].clone();
        let due = Arc::new(AtomicU64::new(Micros::MAX));
        {
            let mut s = shard.state.lock().unwrap_or_else(|e| e.into_inner());
            s.calls.insert(
                id,
                Entry {
                    call,
                    due: due.clone(),
                },
            );
        }
        Registration { shard, id, due }
    }
}

/// Asks for SCHED_FIFO at the lowest real-time priority for this (clock) thread only, as
/// media servers do for their timing threads (FreeSWITCH -rp, Asterisk -p): a tick that is
/// due preempts ordinary threads at once instead of waiting for the scheduler's next slice.
/// Measured on the IVR bench (1,000 calls, bench/results-2026-12-01/README.md): with it and
/// the slot batching below, 96-99 % of packets leave within 2 ms of their due time. A tick is a
/// few microseconds of work, so the thread cannot starve others. Without the privilege (CAP_SYS_NICE) the thread keeps
/// the normal policy; the server logs that once.
fn realtime_priority() {
    // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid sched_param.
    let ok = unsafe {
        let param = libc::sched_param { sched_priority: 1 };
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
    };
    if !ok {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            tracing::info!(
                "media clock runs at normal priority (no permission for SCHED_FIFO); pacing may jitter under load"
            )
        });
    }
}

/// Granularity of the clock's wake-ups, microseconds.
const SLOT: Micros = 1_000;

/// Longest sleep when nothing is due (a new registration wakes the thread anyway).
const IDLE: Duration = Duration::from_secs(1);

/// A call popped from the heap: its id, itself, its deadline cell and the deadline it had.
type Due = (u64, Arc<dyn Tick>, Arc<AtomicU64>, Micros);

fn run(shard: &ShardHandle) {
    let mut due_now: Vec<Due> = Vec::new();
    let mut busy: Vec<Due> = Vec::new();
    loop {
        {
            let mut s = shard.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let now = now_micros();
                while let Some(Reverse((at, id))) = s.heap.peek().copied() {
                    if at > now {
                        break;
                    }
                    s.heap.pop();
                    let Some(e) = s.calls.get(&id) else { continue };
                    // Superseded by a later schedule(): the live entry is elsewhere in the heap.
                    if e.due.load(Ordering::Acquire) != at {
                        continue;
                    }
                    // Popped: the call must schedule again to be run again.
                    e.due.store(Micros::MAX, Ordering::Release);
                    match e.call.upgrade() {
                        Some(call) => due_now.push((id, call, e.due.clone(), at)),
                        None => {
                            s.calls.remove(&id);
                        }
                    }
                }
                if !due_now.is_empty() {
                    break;
                }
                // Wake on the slot boundary after the earliest deadline, not at it: the ticks of
                // a slot run in one wake-up (a thousand calls are 50 wake-ups per 20 ms slot grid
                // instead of 50 per millisecond), each at most a slot late.
                let wait = match s.heap.peek() {
                    Some(Reverse((at, _))) => {
                        let slot_end = at.div_ceil(SLOT) * SLOT;
                        Duration::from_micros(slot_end.saturating_sub(now))
                    }
                    None => IDLE,
                };
                s = match shard.wake.wait_timeout(s, wait.min(IDLE)) {
                    Ok((g, _)) => g,
                    Err(e) => e.into_inner().0,
                };
            }
        }
        for entry in due_now.drain(..) {
            if !entry.1.try_tick(now_micros()) {
                busy.push(entry);
            }
        }
        // Calls whose task held the lock: a few more tries after the others, then back into
        // the heap a little later (their own packet handling will have rescheduled them if it
        // changed anything).
        for _ in 0..3 {
            if busy.is_empty() {
                break;
            }
            std::thread::yield_now();
            busy.retain(|e| !e.1.try_tick(now_micros()));
        }
        if !busy.is_empty() {
            let mut s = shard.state.lock().unwrap_or_else(|e| e.into_inner());
            for (id, _, due, at) in busy.drain(..) {
                // Only if nobody set a new deadline meanwhile; keep the old one so the tick
                // catches up on its grid.
                if due
                    .compare_exchange(Micros::MAX, at, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    s.heap.push(Reverse((at, id)));
                }
            }
        }
    }
}
