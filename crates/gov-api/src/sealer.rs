//! The audit sealer: each `gov serve` process seals the audit rows written since the last
//! checkpoint every `GOV_AUDIT_SEAL_INTERVAL_SECS`. Replicas may all run it: a round that finds
//! the rows already sealed, or loses the race to another replica, writes nothing.

use std::time::Duration;

use gov_facades::Gov;

/// Starts the sealer on the current actix system; it stops with the system.
pub(crate) fn spawn(gov: Gov, every: Duration) {
    actix_web::rt::spawn(async move {
        loop {
            let round = gov.clone();
            match actix_web::web::block(move || round.seal_audit_log()).await {
                Ok(Ok(report)) if report.checkpoints > 0 => {
                    tracing::debug!(
                        checkpoints = report.checkpoints,
                        rows = report.rows,
                        "audit trail sealed"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "sealing the audit trail failed; the next round retries")
                }
                Err(_) => tracing::warn!("the audit sealer's round was cancelled"),
            }
            actix_web::rt::time::sleep(every).await;
        }
    });
}
