//! The history checkers: they read a recorded [`History`] and decide whether the cluster
//! kept its promises. This module owns the [`Report`] they fill in, the committed
//! history `H` they all compare against, and the rendering every finding shares, so that
//! one op or event reads the same wherever it is reported.
//!
//! The checks, one module each:
//! - `converge`: picks `H` (and reports replicas whose committed histories disagree),
//!   and checks every replica's final objects against each other and against `H`;
//! - `durability`: acknowledged writes and deletes that `H` lost, writes it holds twice,
//!   and writes it holds that nobody made;
//! - `linearizable`: per key, whether some total order of the ops explains every answer;
//! - `watch`: every watch stream delivered `H`, in order, once, without gaps.

mod converge;
mod durability;
mod linearizable;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use crate::history::{Call, Event, EventKind, History, Nanos, Outcome, Rv, Target, Value};

/// What the checkers found. A run passes only when every list is empty and the history
/// is linearizable: `unverified` fails it too, because a check that could not run proves
/// nothing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Every op the workload recorded.
    pub ops: usize,
    /// Ops the client was told wrote or deleted something.
    pub acked: usize,
    /// Acknowledged writes or deletes the committed history does not hold.
    pub lost: Vec<String>,
    /// Writes the committed history holds more than once.
    pub duplicated: Vec<String>,
    pub watch_violations: Vec<String>,
    /// Replicas disagreeing with each other or with the committed history, and committed
    /// events no client explains.
    pub divergence: Vec<String>,
    /// `None` when every key's history is linearizable.
    pub linearizable: Option<NonLinearizable>,
    /// What could not be checked, and why.
    pub unverified: Vec<String>,
}

/// The shortest failing sub-history found for one key: a prefix of its ops in invoke
/// order that no total order explains, one rendered op per line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NonLinearizable {
    pub key: String,
    pub ops: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.watch_violations.is_empty()
            && self.divergence.is_empty()
            && self.linearizable.is_none()
            && self.unverified.is_empty()
    }

    /// Every failure, one section per check, for printing; empty when the run passed.
    pub fn failure_text(&self) -> String {
        let mut text = String::new();
        let mut section = |title: &str, lines: &[String]| {
            if !lines.is_empty() {
                let _ = writeln!(text, "{title} ({}):", lines.len());
                for line in lines {
                    let _ = writeln!(text, "  {line}");
                }
            }
        };
        section("lost writes", &self.lost);
        section("duplicated writes", &self.duplicated);
        section("divergence", &self.divergence);
        section("watch violations", &self.watch_violations);
        section("unverified", &self.unverified);
        if let Some(nl) = &self.linearizable {
            let _ = writeln!(
                text,
                "not linearizable: key {:?}, shortest failing sub-history ({} ops):",
                nl.key,
                nl.ops.len()
            );
            for line in &nl.ops {
                let _ = writeln!(text, "  {line}");
            }
        }
        text
    }
}

/// Runs every check on `history`.
pub fn check(history: &History) -> Report {
    let mut report = Report {
        ops: history.ops.len(),
        acked: history
            .ops
            .iter()
            .filter(|op| op.outcome.acknowledged_write())
            .count(),
        ..Report::default()
    };
    let committed = converge::committed_history(history, &mut report).map(Committed::new);
    if let Some(h) = &committed {
        durability::check(history, h, &mut report);
    }
    converge::check_objects(history, committed.as_ref(), &mut report);
    watch::check(history, committed.as_ref(), &mut report);
    linearizable::check(history, committed.as_ref(), &mut report);
    report
}

/// The committed history `H` with the lookups the checks share.
pub(crate) struct Committed<'a> {
    pub events: &'a [Event],
    /// The first event at each rv (a second one is durability's finding).
    pub by_rv: BTreeMap<Rv, &'a Event>,
    /// The first ADDED/MODIFIED carrying each value.
    pub by_value: HashMap<Value, &'a Event>,
}

impl<'a> Committed<'a> {
    pub fn new(events: &'a [Event]) -> Self {
        let mut by_rv = BTreeMap::new();
        let mut by_value = HashMap::new();
        for e in events {
            by_rv.entry(e.rv).or_insert(e);
            if e.kind != EventKind::Deleted {
                by_value.entry(e.value).or_insert(e);
            }
        }
        Committed {
            events,
            by_rv,
            by_value,
        }
    }
}

pub(crate) fn fmt_target(target: Target) -> String {
    match target {
        Target::Proxy => "proxy".to_string(),
        Target::Replica(node) => format!("replica {node}"),
    }
}

pub(crate) fn fmt_call(call: &Call) -> String {
    match call {
        Call::Get { key } => format!("get {key}"),
        Call::Create { key, value } => format!("create {key}={value}"),
        Call::Update {
            key,
            expect,
            expect_rv,
            value,
        } => format!("update {key}={value} if {expect}@{expect_rv}"),
        Call::Delete { key } => format!("delete {key}"),
    }
}

pub(crate) fn fmt_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Found { value, rv } => format!("found {value}@{rv}"),
        Outcome::NotFound => "not found".to_string(),
        Outcome::Written { rv } => format!("written @{rv}"),
        Outcome::Deleted => "deleted".to_string(),
        Outcome::AlreadyExists => "already exists".to_string(),
        Outcome::Conflict => "conflict".to_string(),
        Outcome::Failed { reason } => format!("failed ({reason})"),
        Outcome::Unknown { reason } => format!("unknown ({reason})"),
    }
}

/// `MODIFIED a=5@17`: kind, key, value, rv.
pub(crate) fn fmt_event(e: &Event) -> String {
    let kind = match e.kind {
        EventKind::Added => "ADDED",
        EventKind::Modified => "MODIFIED",
        EventKind::Deleted => "DELETED",
    };
    format!("{kind} {}={}@{}", e.key, e.value, e.rv)
}

pub(crate) fn fmt_ms(t: Nanos) -> String {
    format!("{:.3}ms", t as f64 / 1e6)
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Small constructors for hand-built histories; times are in milliseconds.
    use std::collections::BTreeMap;

    use crate::history::*;

    pub fn get(key: &str) -> Call {
        Call::Get { key: key.into() }
    }
    pub fn create(key: &str, value: Value) -> Call {
        Call::Create {
            key: key.into(),
            value,
        }
    }
    pub fn update(key: &str, expect: Value, expect_rv: Rv, value: Value) -> Call {
        Call::Update {
            key: key.into(),
            expect,
            expect_rv,
            value,
        }
    }
    pub fn delete(key: &str) -> Call {
        Call::Delete { key: key.into() }
    }
    pub fn found(value: Value, rv: Rv) -> Outcome {
        Outcome::Found { value, rv }
    }
    pub fn written(rv: Rv) -> Outcome {
        Outcome::Written { rv }
    }
    pub fn unknown() -> Outcome {
        Outcome::Unknown {
            reason: "timeout".into(),
        }
    }
    pub fn failed() -> Outcome {
        Outcome::Failed {
            reason: "no leader".into(),
        }
    }

    pub fn op(id: u64, invoked_ms: u64, completed_ms: u64, call: Call, outcome: Outcome) -> Op {
        Op {
            id,
            client: id as u32,
            target: Target::Proxy,
            call,
            invoked: invoked_ms * 1_000_000,
            completed: completed_ms * 1_000_000,
            outcome,
        }
    }

    pub fn ev(kind: EventKind, key: &str, value: Value, rv: Rv) -> Event {
        Event {
            kind,
            key: key.into(),
            value,
            rv,
            at: 0,
        }
    }
    pub fn added(key: &str, value: Value, rv: Rv) -> Event {
        ev(EventKind::Added, key, value, rv)
    }
    pub fn modified(key: &str, value: Value, rv: Rv) -> Event {
        ev(EventKind::Modified, key, value, rv)
    }
    pub fn deleted(key: &str, value: Value, rv: Rv) -> Event {
        ev(EventKind::Deleted, key, value, rv)
    }

    /// The objects `committed` leaves behind.
    pub fn final_state(committed: &[Event]) -> BTreeMap<Key, (Value, Rv)> {
        let mut objects = BTreeMap::new();
        for e in committed {
            match e.kind {
                EventKind::Deleted => objects.remove(&e.key),
                _ => objects.insert(e.key.clone(), (e.value, e.rv)),
            };
        }
        objects
    }

    pub fn replica(node: u64, committed: &[Event]) -> ReplicaState {
        ReplicaState {
            node,
            objects: final_state(committed),
            committed: Some(committed.to_vec()),
            replay_error: None,
        }
    }

    /// A history whose three replicas all committed `committed`, starting after rv 1.
    pub fn history(ops: Vec<Op>, committed: &[Event]) -> History {
        History {
            scenario: "test".into(),
            start_rv: 1,
            ops,
            watches: Vec::new(),
            replicas: (1..=3).map(|n| replica(n, committed)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn clean_history_passes() {
        let h = [added("a", 1, 10), modified("a", 2, 11), deleted("a", 2, 12)];
        let history = history(
            vec![
                op(1, 0, 1, create("a", 1), written(10)),
                op(2, 2, 3, update("a", 1, 10, 2), written(11)),
                op(3, 4, 5, get("a"), found(2, 11)),
                op(4, 6, 7, delete("a"), Outcome::Deleted),
                op(5, 8, 9, get("a"), Outcome::NotFound),
            ],
            &h,
        );
        let report = check(&history);
        assert!(report.passed(), "{}", report.failure_text());
        assert_eq!(report.failure_text(), "");
        assert_eq!((report.ops, report.acked), (5, 3));
    }

    #[test]
    fn failures_fail_the_run_and_are_explained() {
        // The acked update at rv 11 is missing from H, and a read saw it anyway.
        let h = [added("a", 1, 10)];
        let history = history(
            vec![
                op(1, 0, 1, create("a", 1), written(10)),
                op(2, 2, 3, update("a", 1, 10, 2), written(11)),
                op(3, 4, 5, get("a"), found(1, 10)),
            ],
            &h,
        );
        let report = check(&history);
        assert!(!report.passed());
        assert_eq!(report.lost.len(), 1, "{report:?}");
        assert!(report.linearizable.is_some());
        let text = report.failure_text();
        assert!(text.contains("lost writes (1):"), "{text}");
        assert!(text.contains("not linearizable: key \"a\""), "{text}");
        assert!(text.contains("get a -> found 1@10"), "{text}");
    }

    #[test]
    fn no_committed_history_is_unverified() {
        let mut history = history(vec![op(1, 0, 1, create("a", 1), written(10))], &[]);
        for r in &mut history.replicas {
            r.committed = None;
            r.replay_error = Some("410 Gone".into());
        }
        let report = check(&history);
        assert!(!report.passed());
        assert!(
            report.unverified[0].contains("410 Gone"),
            "{:?}",
            report.unverified
        );
    }
}
