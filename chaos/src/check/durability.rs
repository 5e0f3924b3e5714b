//! Durability: what the clients were told against what the cluster committed (`H`).
//! An acknowledged write must be in `H` exactly where the client was told it landed; an
//! acknowledged delete must have a DELETED behind it; no write may be committed twice;
//! and nothing may be committed that no client wrote. Values are unique per write, so
//! every committed ADDED/MODIFIED names the op behind it and all of this is exact.

use std::collections::{BTreeMap, HashMap};

use super::{fmt_event, Committed, Report};
use crate::history::{Call, Event, EventKind, History, Op, Outcome, Rv, Value};

pub(crate) fn check(history: &History, h: &Committed, report: &mut Report) {
    let writers: HashMap<Value, &Op> = history
        .ops
        .iter()
        .filter_map(|op| op.call.written_value().map(|v| (v, op)))
        .collect();
    check_order(h.events, report);
    check_acked_writes(history, h, report);
    check_deletes(history, h, report);
    check_duplicates(h, &writers, report);
    check_phantoms(h, &writers, report);
}

/// `H` must be strictly increasing in rv; equal neighbours are left to the duplicate
/// check, which names both events.
fn check_order(events: &[Event], report: &mut Report) {
    for w in events.windows(2) {
        if w[1].rv < w[0].rv {
            report.divergence.push(format!(
                "H goes back in rv: {} comes after {}",
                fmt_event(&w[1]),
                fmt_event(&w[0])
            ));
        }
    }
}

fn check_acked_writes(history: &History, h: &Committed, report: &mut Report) {
    for op in &history.ops {
        let (Outcome::Written { rv }, Some(value)) = (&op.outcome, op.call.written_value()) else {
            continue;
        };
        let key = op.call.key();
        let there = h.by_rv.get(rv);
        let landed =
            there.is_some_and(|e| e.kind != EventKind::Deleted && e.key == key && e.value == value);
        if landed {
            continue;
        }
        let what = match there {
            None => format!("H has nothing at rv {rv}"),
            Some(e) => format!("H has {} there", fmt_event(e)),
        };
        let elsewhere = match h.by_value.get(&value) {
            Some(e) => format!(" (the value is at {} instead)", fmt_event(e)),
            None => String::new(),
        };
        report.lost.push(format!(
            "op {}: wrote {key}={value}, acknowledged at rv {rv}, but {what}{elsewhere}",
            op.id
        ));
    }
}

/// Deletes carry no rv, so they are counted rather than placed: `H` must hold at least
/// one DELETED per acknowledged delete of a key, and no more than the deletes that may
/// have taken effect.
fn check_deletes(history: &History, h: &Committed, report: &mut Report) {
    #[derive(Default)]
    struct Counts {
        acked: Vec<u64>,
        possible: usize,
        committed: usize,
    }
    let mut keys: BTreeMap<&str, Counts> = BTreeMap::new();
    for op in &history.ops {
        if let Call::Delete { key } = &op.call {
            let c = keys.entry(key).or_default();
            match op.outcome {
                Outcome::Deleted => {
                    c.acked.push(op.id);
                    c.possible += 1;
                }
                Outcome::Unknown { .. } => c.possible += 1,
                _ => {}
            }
        }
    }
    for e in h.events.iter().filter(|e| e.kind == EventKind::Deleted) {
        keys.entry(&e.key).or_default().committed += 1;
    }
    for (key, c) in keys {
        if c.committed < c.acked.len() {
            report.lost.push(format!(
                "key {key}: {} acknowledged deletes (ops {}) but only {} DELETED events in H",
                c.acked.len(),
                first_ten(&c.acked),
                c.committed
            ));
        }
        if c.committed > c.possible {
            report.divergence.push(format!(
                "phantom delete: key {key} has {} DELETED events in H but only {} deletes \
                 that may have taken effect",
                c.committed, c.possible
            ));
        }
    }
}

fn check_duplicates(h: &Committed, writers: &HashMap<Value, &Op>, report: &mut Report) {
    let mut by_rv: BTreeMap<Rv, Vec<&Event>> = BTreeMap::new();
    let mut by_value: BTreeMap<Value, Vec<&Event>> = BTreeMap::new();
    for e in h.events {
        by_rv.entry(e.rv).or_default().push(e);
        if e.kind != EventKind::Deleted {
            by_value.entry(e.value).or_default().push(e);
        }
    }
    let list = |events: &[&Event]| {
        events
            .iter()
            .map(|e| fmt_event(e))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (rv, events) in by_rv.iter().filter(|(_, es)| es.len() > 1) {
        report.duplicated.push(format!(
            "rv {rv} appears {} times in H: {}",
            events.len(),
            list(events)
        ));
    }
    for (value, events) in by_value.iter().filter(|(_, es)| es.len() > 1) {
        let by = writers
            .get(value)
            .map_or(String::new(), |op| format!(" (op {})", op.id));
        report.duplicated.push(format!(
            "value {value}{by} committed {} times: {}",
            events.len(),
            list(events)
        ));
    }
}

/// A committed write must come from an op on the same key that may have taken effect.
fn check_phantoms(h: &Committed, writers: &HashMap<Value, &Op>, report: &mut Report) {
    for e in h.events.iter().filter(|e| e.kind != EventKind::Deleted) {
        let why = match writers.get(&e.value) {
            None => "which no op wrote".to_string(),
            Some(op) if op.call.key() != e.key => {
                format!("but op {} wrote that value to key {}", op.id, op.call.key())
            }
            Some(op) => match &op.outcome {
                Outcome::Failed { reason } => {
                    format!(
                        "but its op {} failed ({reason}), so it must have no effect",
                        op.id
                    )
                }
                // The client was told the write was refused: it must not be committed.
                refused @ (Outcome::AlreadyExists | Outcome::Conflict | Outcome::NotFound) => {
                    format!("but its op {} was answered {refused:?}", op.id)
                }
                _ => continue,
            },
        };
        report
            .divergence
            .push(format!("phantom write: H has {}, {why}", fmt_event(e)));
    }
}

/// `[a, b, ...]`, cut after ten entries so one finding stays one line.
fn first_ten(ops: &[u64]) -> String {
    let shown: Vec<String> = ops.iter().take(10).map(u64::to_string).collect();
    let more = if ops.len() > 10 { ", ..." } else { "" };
    format!("[{}{more}]", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn run(ops: Vec<Op>, h: &[Event]) -> Report {
        let history = history(ops, h);
        let mut report = Report::default();
        check(&history, &Committed::new(h), &mut report);
        report
    }

    fn writes() -> Vec<Op> {
        vec![
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 2, 3, update("a", 1, 10, 2), written(11)),
            op(3, 4, 5, delete("a"), Outcome::Deleted),
        ]
    }

    #[test]
    fn everything_committed_once() {
        let h = [added("a", 1, 10), modified("a", 2, 11), deleted("a", 2, 12)];
        let report = run(writes(), &h);
        assert!(report.passed(), "{report:?}");
    }

    #[test]
    fn unknown_writes_may_or_may_not_be_committed() {
        let mut ops = writes();
        ops.push(op(4, 6, 7, create("b", 5), unknown()));
        ops.push(op(5, 6, 7, create("c", 6), unknown()));
        ops.push(op(6, 6, 7, delete("b"), unknown()));
        let h = [
            added("a", 1, 10),
            modified("a", 2, 11),
            deleted("a", 2, 12),
            added("b", 5, 13),
            deleted("b", 5, 14),
        ];
        let report = run(ops, &h);
        assert!(report.passed(), "{report:?}");
    }

    #[test]
    fn lost_acknowledged_write() {
        // Nothing at rv 11.
        let report = run(writes(), &[added("a", 1, 10), deleted("a", 1, 12)]);
        assert_eq!(
            report.lost,
            ["op 2: wrote a=2, acknowledged at rv 11, but H has nothing at rv 11"]
        );
        // Something else at rv 11, and the value landed elsewhere.
        let h = [
            added("a", 1, 10),
            modified("a", 9, 11),
            modified("a", 2, 12),
            deleted("a", 2, 13),
        ];
        let report = run(writes(), &h);
        assert_eq!(report.lost.len(), 1, "{report:?}");
        assert!(report.lost[0].contains("H has MODIFIED a=9@11 there"));
        assert!(report.lost[0].contains("(the value is at MODIFIED a=2@12 instead)"));
    }

    #[test]
    fn acknowledged_write_must_be_an_add_or_modify_of_its_key() {
        let h = [added("a", 1, 10), deleted("a", 2, 11)];
        let report = run(writes()[..2].to_vec(), &h);
        assert_eq!(
            report.lost,
            ["op 2: wrote a=2, acknowledged at rv 11, but H has DELETED a=2@11 there"]
        );
        let h = [added("a", 1, 10), modified("b", 2, 11)];
        let report = run(writes()[..2].to_vec(), &h);
        assert_eq!(report.lost.len(), 1, "{report:?}");
        assert!(report.lost[0].contains("H has MODIFIED b=2@11 there"));
    }

    #[test]
    fn lost_acknowledged_delete() {
        let report = run(writes(), &[added("a", 1, 10), modified("a", 2, 11)]);
        assert_eq!(
            report.lost,
            ["key a: 1 acknowledged deletes (ops [3]) but only 0 DELETED events in H"]
        );
    }

    #[test]
    fn duplicated_value_and_rv() {
        let h = [
            added("a", 1, 10),
            modified("a", 2, 11),
            modified("a", 2, 12),
            deleted("a", 2, 12),
        ];
        let report = run(writes(), &h);
        assert_eq!(
            report.duplicated,
            [
                "rv 12 appears 2 times in H: MODIFIED a=2@12, DELETED a=2@12",
                "value 2 (op 2) committed 2 times: MODIFIED a=2@11, MODIFIED a=2@12",
            ]
        );
        assert!(
            report.lost.is_empty() && report.divergence.is_empty(),
            "{report:?}"
        );
    }

    #[test]
    fn phantom_writes_and_deletes() {
        let mut ops = writes();
        ops.push(op(4, 6, 7, create("b", 5), failed()));
        let h = [
            added("a", 1, 10),
            modified("a", 2, 11),
            deleted("a", 2, 12),
            added("a", 77, 13),
            deleted("a", 77, 14),
            added("b", 5, 15),
        ];
        let report = run(ops, &h);
        assert_eq!(
            report.divergence,
            [
                "phantom delete: key a has 2 DELETED events in H but only 1 deletes that may \
                 have taken effect",
                "phantom write: H has ADDED a=77@13, which no op wrote",
                "phantom write: H has ADDED b=5@15, but its op 4 failed (no leader), so it \
                 must have no effect",
            ]
        );
    }

    #[test]
    fn h_going_backwards() {
        let h = [added("a", 1, 10), deleted("a", 2, 12), modified("a", 2, 11)];
        let report = run(writes(), &h);
        assert_eq!(
            report.divergence,
            ["H goes back in rv: MODIFIED a=2@11 comes after DELETED a=2@12"]
        );
    }
}
