//! The prompt evaluator: a background task that runs the prompt rules for clients whose record
//! changed (`prompt_pending`, written in the same transaction as the change), shortly after the
//! write's response, so the writer never waits for it. Safety prompts do not wait for it: the
//! write itself opens them. Time-based rules (overdue measures, deferrals that come due) are
//! swept once an hour here and by `concord prompts sweep`.

use concord_domain::clock::SharedClock;
use concord_store::{Ctx, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// How many pending clients one pass evaluates before checking for more.
const BATCH: i64 = 50;
/// How long the task lets writes settle after a wake before evaluating: a burst of writes to one
/// record (a client completing several forms, an import) costs one evaluation, not one each.
/// Safety prompts never wait for it (the write opens them).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);
/// Under a steady stream of writes the settling time grows to this many times the last pass's
/// duration (at most [`SETTLE_MAX`]), so re-reading long records keeps to about a tenth of one
/// core however fast the writes come, and request handling keeps the rest.
const SETTLE_PER_PASS: u32 = 9;
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(10);
/// How often the time-based sweep runs inside `serve`.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Debug, Clone, Default)]
pub struct Evaluator {
    wake: Arc<Notify>,
    started: Arc<AtomicBool>,
}

impl Evaluator {
    /// Wakes the task (after a write that may have marked a client pending).
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Starts the task once, inside the current tokio runtime (no-op outside one).
    pub fn start(&self, store: Store, clock: SharedClock) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::SeqCst);
            return;
        };
        let wake = self.wake.clone();
        rt.spawn(async move {
            let mut last_sweep = tokio::time::Instant::now();
            let mut settle = SETTLE;
            loop {
                if tokio::time::timeout(SWEEP_EVERY, wake.notified()).await.is_ok() {
                    tokio::time::sleep(settle).await;
                }
                let pass = tokio::time::Instant::now();
                loop {
                    let ctx = Ctx::new("prompt-evaluator", clock.now());
                    match concord_store::prompts::evaluate_pending(&store, &ctx, BATCH).await {
                        Ok(r) if r.clients > 0 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %crate::error::AppError::from(e), "prompt evaluation failed; the sweep will retry");
                            break;
                        }
                    }
                }
                settle = (pass.elapsed() * SETTLE_PER_PASS).clamp(SETTLE, SETTLE_MAX);
                if last_sweep.elapsed() >= SWEEP_EVERY {
                    last_sweep = tokio::time::Instant::now();
                    let ctx = Ctx::new("prompt-sweep", clock.now());
                    if let Err(e) = concord_store::prompts::sweep(&store, &ctx).await {
                        tracing::warn!(error = %crate::error::AppError::from(e), "prompt sweep failed");
                    }
                }
            }
        });
    }
}

/// After every request that may have written, wake the evaluator.
pub async fn poke_after_writes(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    let resp = next.run(req).await;
    if writes && (resp.status().is_success() || resp.status().is_redirection()) {
        state.evaluator.poke();
    }
    resp
}
