//! Convergence: after healing, every replica must hold the same thing. Two views are
//! compared: each replica's replayed committed history (which also decides which one
//! becomes `H` for the other checks), and each replica's final objects, which must agree
//! with each other and with the state `H` leaves behind. Keeping both here means a
//! replica that silently diverged is reported once, in one place.

use std::collections::{BTreeMap, BTreeSet};

use super::{fmt_event, Committed, Report};
use crate::history::{Event, EventKind, History, Key, ReplicaState, Rv, Value};

/// Picks `H`: the committed history of the lowest-numbered replica that could replay one.
/// Every other replica's must be identical; where it is not, that is divergence.
pub(crate) fn committed_history<'a>(
    history: &'a History,
    report: &mut Report,
) -> Option<&'a [Event]> {
    let mut replayed: Vec<(&ReplicaState, &[Event])> = history
        .replicas
        .iter()
        .filter_map(|r| r.committed.as_deref().map(|c| (r, c)))
        .collect();
    replayed.sort_by_key(|(r, _)| r.node);

    let Some(&(first, h)) = replayed.first() else {
        let why: Vec<String> = history
            .replicas
            .iter()
            .map(|r| {
                let err = r.replay_error.as_deref().unwrap_or("no error recorded");
                format!("replica {}: {err}", r.node)
            })
            .collect();
        report.unverified.push(format!(
            "no replica replayed the committed history, so durability, watch contents and \
             unknown writes could not be checked ({})",
            if why.is_empty() {
                "no live replicas".to_string()
            } else {
                why.join("; ")
            }
        ));
        return None;
    };

    for &(other, theirs) in &replayed[1..] {
        if let Some(line) = first_difference(h, theirs) {
            report.divergence.push(format!(
                "replica {}'s committed history differs from replica {}'s: {line}",
                other.node, first.node
            ));
        }
    }
    Some(h)
}

/// Where `theirs` first departs from `ours`, if it does. `at` is ignored: it is 0 in
/// replayed histories and means nothing there.
fn first_difference(ours: &[Event], theirs: &[Event]) -> Option<String> {
    let same =
        |a: &Event, b: &Event| (a.kind, &a.key, a.value, a.rv) == (b.kind, &b.key, b.value, b.rv);
    let i = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| !same(a, b))
        .unwrap_or(ours.len().min(theirs.len()));
    match (ours.get(i), theirs.get(i)) {
        (Some(a), Some(b)) => Some(format!(
            "first at rv {} (event #{i}): {} vs {}",
            a.rv.min(b.rv),
            fmt_event(b),
            fmt_event(a)
        )),
        (Some(a), None) => Some(format!(
            "it ends after {i} events, missing {} and everything after",
            fmt_event(a)
        )),
        (None, Some(b)) => Some(format!(
            "it has {} extra events from {} on",
            theirs.len() - i,
            fmt_event(b)
        )),
        (None, None) => None,
    }
}

/// Every replica's objects must be the same, and the same as what `H` leaves behind.
/// Without `H`, the replicas are still compared with each other.
pub(crate) fn check_objects(history: &History, h: Option<&Committed>, report: &mut Report) {
    let expected = h.map(|h| final_state(h.events));
    let keys: BTreeSet<&Key> = history
        .replicas
        .iter()
        .flat_map(|r| r.objects.keys())
        .chain(expected.iter().flat_map(|e| e.keys()))
        .collect();

    let show =
        |v: Option<&(Value, Rv)>| v.map_or("absent".to_string(), |(v, rv)| format!("{v}@{rv}"));
    for key in keys {
        let held: Vec<Option<&(Value, Rv)>> = history
            .replicas
            .iter()
            .map(|r| r.objects.get(key))
            .collect();
        let agree = held.windows(2).all(|w| w[0] == w[1]);
        let want = expected.as_ref().map(|e| e.get(key));
        let match_h = want.is_none_or(|want| held.iter().all(|&got| got == want));
        if agree && match_h {
            continue;
        }
        let replicas: Vec<String> = history
            .replicas
            .iter()
            .zip(&held)
            .map(|(r, got)| format!("replica {} has {}", r.node, show(*got)))
            .collect();
        let h_says = want.map_or(String::new(), |w| format!("; H leaves {}", show(w)));
        let what = if agree {
            "replicas differ from H"
        } else {
            "replicas disagree"
        };
        report.divergence.push(format!(
            "key {key}: {what}: {}{h_says}",
            replicas.join(", ")
        ));
    }
}

/// Applies `events` in order to an empty namespace.
fn final_state(events: &[Event]) -> BTreeMap<Key, (Value, Rv)> {
    let mut objects = BTreeMap::new();
    for e in events {
        match e.kind {
            EventKind::Added | EventKind::Modified => {
                objects.insert(e.key.clone(), (e.value, e.rv));
            }
            EventKind::Deleted => {
                objects.remove(&e.key);
            }
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn run(history: &History) -> Report {
        let mut report = Report::default();
        let h = committed_history(history, &mut report).map(Committed::new);
        check_objects(history, h.as_ref(), &mut report);
        report
    }

    #[test]
    fn identical_replicas_converge() {
        let h = [added("a", 1, 10), added("b", 2, 11), deleted("a", 1, 12)];
        let report = run(&history(vec![], &h));
        assert!(report.passed(), "{report:?}");
    }

    #[test]
    fn h_is_the_lowest_node_s_history() {
        let mut history = history(vec![], &[added("a", 1, 10)]);
        history.replicas.reverse();
        history.replicas[0].committed = Some(vec![added("a", 9, 10)]);
        let mut report = Report::default();
        let h = committed_history(&history, &mut report);
        assert_eq!(h, Some(&[added("a", 1, 10)][..]));
        // Replica 3 is the odd one out, and is named as such.
        assert_eq!(report.divergence.len(), 1, "{report:?}");
        assert!(report.divergence[0]
            .starts_with("replica 3's committed history differs from replica 1's: first at rv 10"));
    }

    #[test]
    fn diverging_committed_histories() {
        let h = [added("a", 1, 10), modified("a", 2, 11), added("b", 3, 12)];
        let mut history = history(vec![], &h);
        // Replica 2 committed something else at rv 11; replica 3 stops early.
        history.replicas[1].committed =
            Some(vec![h[0].clone(), modified("a", 7, 11), h[2].clone()]);
        history.replicas[2].committed = Some(h[..1].to_vec());
        let report = run(&history);
        assert_eq!(report.divergence.len(), 2, "{report:?}");
        assert!(report.divergence[0]
            .contains("replica 2's committed history differs from replica 1's: first at rv 11"));
        assert!(report.divergence[0].contains("MODIFIED a=7@11 vs MODIFIED a=2@11"));
        assert!(report.divergence[1].contains("replica 3's"));
        assert!(report.divergence[1].contains("missing MODIFIED a=2@11"));
    }

    #[test]
    fn a_replica_without_replay_is_skipped_for_h() {
        let h = [added("a", 1, 10)];
        let mut history = history(vec![], &h);
        history.replicas[0].committed = None;
        let mut report = Report::default();
        assert_eq!(committed_history(&history, &mut report), Some(&h[..]));
        assert!(report.passed());
    }

    #[test]
    fn no_replay_anywhere_is_unverified() {
        let mut history = history(vec![], &[added("a", 1, 10)]);
        for r in &mut history.replicas {
            r.committed = None;
            r.replay_error = Some(format!("node {} unreachable", r.node));
        }
        let report = run(&history);
        assert_eq!(report.unverified.len(), 1);
        assert!(report.unverified[0].contains("replica 2: node 2 unreachable"));
        // The objects still agree with each other, so nothing else is reported.
        assert!(report.divergence.is_empty(), "{report:?}");
    }

    #[test]
    fn replicas_with_different_objects() {
        let h = [added("a", 1, 10), added("b", 2, 11)];
        let mut history = history(vec![], &h);
        history.replicas[2].objects.remove("b");
        let report = run(&history);
        assert_eq!(
            report.divergence,
            [
                "key b: replicas disagree: replica 1 has 2@11, replica 2 has 2@11, \
              replica 3 has absent; H leaves 2@11"
            ]
        );
    }

    #[test]
    fn replicas_agreeing_with_each_other_but_not_h() {
        let h = [added("a", 1, 10), deleted("a", 1, 11)];
        let mut history = history(vec![], &h);
        for r in &mut history.replicas {
            r.objects.insert("a".into(), (1, 10));
        }
        let report = run(&history);
        assert_eq!(report.divergence.len(), 1, "{report:?}");
        assert!(report.divergence[0].starts_with("key a: replicas differ from H"));
        assert!(report.divergence[0].ends_with("H leaves absent"));
    }
}
