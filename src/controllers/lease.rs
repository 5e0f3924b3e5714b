//! coordination.k8s.io Leases as the controllers use them: reading who holds one, and
//! taking or renewing it with a compare-and-swap on its resourceVersion.
//!
//! Expiry follows client-go's leader election: a Lease is expired when its record has not
//! changed for `leaseDurationSeconds` by this replica's own clock, so clocks that disagree
//! between machines cannot make two replicas hold it at once.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use crate::registry::list::ReadAt;
use crate::registry::{Engine, RegistryError};

/// The namespace of every Lease keelson writes (as upstream's component leases).
pub const NAMESPACE: &str = "kube-system";

/// A Lease's time fields, in upstream's MicroTime format.
pub fn micro_time(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

/// What this replica last saw of a Lease, and when it saw it change.
#[derive(Default)]
pub struct Observed {
    record: Option<(String, String)>,
    changed_at: Option<Instant>,
}

impl Observed {
    /// Whether the holder `holder` (renewed at `renew`) may still be holding it.
    fn still_held(&mut self, holder: &str, renew: &str, duration: Duration) -> bool {
        let record = (holder.to_string(), renew.to_string());
        if self.record.as_ref() != Some(&record) {
            self.record = Some(record);
            self.changed_at = Some(Instant::now());
        }
        !holder.is_empty() && self.changed_at.is_some_and(|at| at.elapsed() < duration)
    }
}

/// Takes or renews the Lease `name` for `holder` unless someone else holds it; returns
/// whether `holder` holds it afterwards.
pub async fn acquire(
    leases: &Engine,
    name: &str,
    holder: &str,
    duration: Duration,
    observed: &mut Observed,
    annotations: &Value,
) -> Result<bool, RegistryError> {
    let now = micro_time(SystemTime::now());
    let current = match leases.get(NAMESPACE, name, ReadAt::Any).await {
        Ok(current) => current.decode(),
        Err(RegistryError::NotFound { .. }) => {
            let lease = json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": NAMESPACE, "annotations": annotations},
                "spec": {
                    "holderIdentity": holder,
                    "leaseDurationSeconds": duration.as_secs(),
                    "acquireTime": now,
                    "renewTime": now,
                    "leaseTransitions": 0,
                },
            });
            return match leases.create(NAMESPACE, lease).await {
                Ok(_) => Ok(true),
                Err(RegistryError::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    let spec = &current["spec"];
    let current_holder = spec["holderIdentity"].as_str().unwrap_or_default();
    let renew = spec["renewTime"].as_str().unwrap_or_default();
    let mine = current_holder == holder;
    if !mine && observed.still_held(current_holder, renew, duration) {
        return Ok(false);
    }
    let mut lease = current.clone();
    lease["metadata"]["annotations"] = annotations.clone();
    lease["spec"]["holderIdentity"] = json!(holder);
    lease["spec"]["leaseDurationSeconds"] = json!(duration.as_secs());
    lease["spec"]["renewTime"] = json!(now);
    if !mine {
        let transitions = spec["leaseTransitions"].as_u64().unwrap_or(0);
        lease["spec"]["acquireTime"] = json!(now);
        lease["spec"]["leaseTransitions"] = json!(transitions + 1);
    }
    // The read's resourceVersion stays in the object: the update is a compare-and-swap.
    match leases.update(NAMESPACE, name, lease, false).await {
        Ok(_) => Ok(true),
        Err(RegistryError::Conflict { .. } | RegistryError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_held_until_it_stops_changing_for_the_duration() {
        let mut observed = Observed::default();
        let duration = Duration::from_millis(50);
        assert!(observed.still_held("a", "t1", duration));
        std::thread::sleep(Duration::from_millis(60));
        assert!(
            !observed.still_held("a", "t1", duration),
            "unchanged for longer than the duration"
        );
        assert!(
            observed.still_held("a", "t2", duration),
            "a renewal is seen as a change"
        );
        assert!(
            !observed.still_held("", "t3", duration),
            "nobody holds an empty holder"
        );
    }
}
