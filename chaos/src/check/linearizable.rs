//! Linearizability: is there one total order of each key's ops, consistent with real
//! time, in which every answer the clients got is what a single copy of the object would
//! have given? Keys are independent (P-compositionality), and rvs are global, so checking
//! each key alone is enough.
//!
//! The search is Wing & Gong's with Lowe's cache, as Porcupine implements it: walk the
//! call/return entries in time order, tentatively linearize a call whose effect the model
//! accepts, backtrack at a return whose call is not linearized yet, and never revisit a
//! (set of linearized ops, model state) pair. One pruning is added: writes carry their
//! rv, so they are only tried in rv order.
//!
//! `Unknown` outcomes are resolved with the committed history `H` first: a write whose
//! unique value `H` holds took effect at that rv (at some point after its invoke, so it
//! never "returns"); one `H` lacks never took effect and is dropped, as are failed ops
//! and unknown reads, which constrain nothing. A delete with an unknown outcome is
//! optional: the search may linearize it where it deletes something, or leave it out.
//! Leaving it out covers every placement where it would have deleted nothing, which
//! keeps such never-returning ops from multiplying the states to explore.

use std::collections::{BTreeMap, HashSet};

use super::{fmt_call, fmt_ms, fmt_outcome, fmt_target, Committed, NonLinearizable, Report};
use crate::history::{Call, History, Nanos, Op, Outcome, Rv, Value};

/// Search steps allowed per key history before giving up (and saying so).
const MAX_STEPS: u64 = 5_000_000;

pub(crate) fn check(history: &History, h: Option<&Committed>, report: &mut Report) {
    let init = KeyState {
        cur: None,
        last_rv: history.start_rv,
    };
    let mut keys: BTreeMap<&str, Vec<KeyOp>> = BTreeMap::new();
    let mut unresolvable: BTreeMap<&str, usize> = BTreeMap::new();
    for op in &history.ops {
        match resolve(op, h) {
            Resolved::Keep(k) => keys.entry(op.call.key()).or_default().push(k),
            Resolved::Drop => {}
            Resolved::Unresolvable => *unresolvable.entry(op.call.key()).or_default() += 1,
        }
    }

    for (key, n) in &unresolvable {
        report.unverified.push(format!(
            "key {key}: linearizability not checked: {n} writes with unknown outcomes and no \
             committed history to resolve them"
        ));
    }

    let mut shortest: Option<NonLinearizable> = None;
    for (key, mut ops) in keys {
        if unresolvable.contains_key(key) {
            continue;
        }
        ops.sort_by_key(|k| (k.op.invoked, k.op.id));
        match check_ops(&ops, init, MAX_STEPS) {
            Verdict::Linearizable => {}
            Verdict::GaveUp => report.unverified.push(format!(
                "key {key}: linearizability undecided after {MAX_STEPS} search steps ({} ops)",
                ops.len()
            )),
            Verdict::NotLinearizable => {
                let n = shortest_failing_prefix(&ops, init);
                if shortest.as_ref().is_none_or(|s| n < s.ops.len()) {
                    shortest = Some(NonLinearizable {
                        key: key.to_string(),
                        ops: ops[..n].iter().map(render).collect(),
                    });
                }
            }
        }
    }
    report.linearizable = shortest;
}

/// An op's answer as the model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ret {
    Found(Value, Rv),
    NotFound,
    Written(Rv),
    Deleted,
    /// A delete with an unknown outcome.
    MaybeDeleted,
    AlreadyExists,
    Conflict,
}

/// One op of a key's history, after resolving `Unknown`s.
struct KeyOp<'a> {
    op: &'a Op,
    ret: Ret,
    /// `None` for an op that never returned: it may take effect at any time after its
    /// invoke.
    completed: Option<Nanos>,
}

enum Resolved<'a> {
    Keep(KeyOp<'a>),
    /// Certainly had no effect, or constrains nothing.
    Drop,
    /// A write with an unknown outcome and no `H` to tell.
    Unresolvable,
}

fn resolve<'a>(op: &'a Op, h: Option<&Committed>) -> Resolved<'a> {
    let done = |ret| {
        Resolved::Keep(KeyOp {
            op,
            ret,
            // A completion recorded before the invoke would put the return before its own
            // call in the search; treat it as instantaneous.
            completed: Some(op.completed.max(op.invoked)),
        })
    };
    let pending = |ret| {
        Resolved::Keep(KeyOp {
            op,
            ret,
            completed: None,
        })
    };
    match &op.outcome {
        Outcome::Found { value, rv } => done(Ret::Found(*value, *rv)),
        Outcome::NotFound => done(Ret::NotFound),
        Outcome::Written { rv } => done(Ret::Written(*rv)),
        Outcome::Deleted => done(Ret::Deleted),
        Outcome::AlreadyExists => done(Ret::AlreadyExists),
        Outcome::Conflict => done(Ret::Conflict),
        Outcome::Failed { .. } => Resolved::Drop,
        Outcome::Unknown { .. } => match (&op.call, h) {
            (Call::Get { .. }, _) => Resolved::Drop,
            (Call::Delete { .. }, _) => pending(Ret::MaybeDeleted),
            (_, None) => Resolved::Unresolvable,
            (call, Some(h)) => match call.written_value().and_then(|v| h.by_value.get(&v)) {
                Some(e) if e.key == call.key() => pending(Ret::Written(e.rv)),
                _ => Resolved::Drop,
            },
        },
    }
}

/// One possible state of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct KeyState {
    cur: Option<(Value, Rv)>,
    /// The rv of the key's last write: a new one must come after it, even across a
    /// delete (whose own rv the client never learns).
    last_rv: Rv,
}

/// The state after `op` in `s`, or `None` when its answer is impossible in `s`.
fn step(s: KeyState, op: &KeyOp) -> Option<KeyState> {
    let written = |value: Value, rv: Rv| KeyState {
        cur: Some((value, rv)),
        last_rv: rv,
    };
    let deleted = KeyState { cur: None, ..s };
    let ok = match (&op.op.call, op.ret) {
        (Call::Get { .. }, Ret::Found(v, rv)) => s.cur == Some((v, rv)),
        (Call::Get { .. } | Call::Update { .. } | Call::Delete { .. }, Ret::NotFound) => {
            s.cur.is_none()
        }
        (Call::Create { value, .. }, Ret::Written(rv)) => {
            return (s.cur.is_none() && rv > s.last_rv).then(|| written(*value, rv));
        }
        (Call::Create { .. }, Ret::AlreadyExists) => s.cur.is_some(),
        (
            Call::Update {
                expect,
                expect_rv,
                value,
                ..
            },
            Ret::Written(rv),
        ) => {
            let precondition = s.cur == Some((*expect, *expect_rv));
            return (precondition && rv > s.last_rv).then(|| written(*value, rv));
        }
        (Call::Update { expect_rv, .. }, Ret::Conflict) => {
            s.cur.is_some_and(|(_, rv)| rv != *expect_rv)
        }
        // An optional delete is only worth linearizing where it deletes something.
        (Call::Delete { .. }, Ret::Deleted | Ret::MaybeDeleted) => {
            return s.cur.is_some().then_some(deleted);
        }
        // An answer this call never gives.
        _ => false,
    };
    ok.then_some(s)
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Linearizable,
    NotLinearizable,
    GaveUp,
}

const NIL: usize = usize::MAX;

/// The entries not linearized yet, in time order, as a doubly linked list from which a
/// call and its return can be lifted and put back in LIFO order.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl Entries {
    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    /// Undoes `unlink(node)`; valid only in reverse order of the unlinks.
    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(n: usize) -> Self {
        Bitset(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Decides whether `ops` (one key's) are linearizable from `init`, within `max_steps`.
fn check_ops(ops: &[KeyOp], init: KeyState, max_steps: u64) -> Verdict {
    // Node i < n is op i's call, n + i its return, 2n the list head.
    let n = ops.len();
    let head = 2 * n;
    let time = |node: usize| match node.checked_sub(n) {
        None => (ops[node].op.invoked, 0),
        // Ops that never returned return after everything else.
        Some(i) => (ops[i].completed.unwrap_or(Nanos::MAX), 1),
    };
    let mut order: Vec<usize> = (0..2 * n).collect();
    // At equal times calls come first: touching intervals count as concurrent.
    order.sort_by_key(|&node| time(node));
    let mut list = Entries {
        next: vec![NIL; 2 * n + 1],
        prev: vec![NIL; 2 * n + 1],
    };
    let mut last = head;
    for node in order {
        list.next[last] = node;
        list.prev[node] = last;
        last = node;
    }

    // Writes carry their rv and rvs only grow, so writes linearize in rv order. Enforcing
    // that up front, not only through `last_rv`, matters for writes that never returned:
    // skipped over, one is otherwise found doomed only at the end of the history, after
    // everything in between has been explored.
    let written_rv = |i: usize| match ops[i].ret {
        Ret::Written(rv) => Some(rv),
        _ => None,
    };
    let mut writes: Vec<usize> = (0..n).filter(|&i| written_rv(i).is_some()).collect();
    writes.sort_by_key(|&i| (written_rv(i), i));
    let mut next_write = 0;
    let in_turn =
        |i: usize, next_write: usize| written_rv(i).is_none() || writes.get(next_write) == Some(&i);

    let mut state = init;
    let mut linearized = Bitset::new(n);
    let mut cache: HashSet<(Bitset, KeyState)> = HashSet::new();
    // The calls linearized so far, with the state before each.
    let mut calls: Vec<(usize, KeyState)> = Vec::new();
    let mut entry = list.next[head];
    let mut steps = 0;
    // Reaching the end of the list means every op left is optional: done.
    while entry != NIL {
        steps += 1;
        if steps > max_steps {
            return Verdict::GaveUp;
        }
        if entry < n {
            let after = step(state, &ops[entry]).filter(|_| in_turn(entry, next_write));
            if let Some(after) = after {
                linearized.set(entry);
                if cache.insert((linearized.clone(), after)) {
                    calls.push((entry, state));
                    state = after;
                    next_write += usize::from(written_rv(entry).is_some());
                    list.unlink(entry);
                    list.unlink(entry + n);
                    entry = list.next[head];
                    continue;
                }
                linearized.clear(entry);
            }
            entry = list.next[entry];
        } else if ops[entry - n].ret == Ret::MaybeDeleted {
            // It may never have happened; only non-optional ops force a backtrack.
            entry = list.next[entry];
        } else {
            // A return whose call could not be linearized before it: undo the last choice.
            let Some((call, before)) = calls.pop() else {
                return Verdict::NotLinearizable;
            };
            state = before;
            next_write -= usize::from(written_rv(call).is_some());
            linearized.clear(call);
            list.relink(call + n);
            list.relink(call);
            entry = list.next[call];
        }
    }
    Verdict::Linearizable
}

/// The length of a short non-linearizable prefix of `ops` (which must fail as a whole):
/// binary search for a failing prefix one op shorter than which passes. Failure is not
/// strictly monotone in the prefix (a later write can explain an earlier read), so this
/// is minimal locally, which in practice is the shortest.
fn shortest_failing_prefix(ops: &[KeyOp], init: KeyState) -> usize {
    // `lo` is not known to fail (a search that gives up counts as passing), `hi` fails.
    let (mut lo, mut hi) = (0, ops.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if check_ops(&ops[..mid], init, MAX_STEPS) == Verdict::NotLinearizable {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

fn render(k: &KeyOp) -> String {
    let op = k.op;
    let end = match k.completed {
        Some(t) => fmt_ms(t),
        None => format!("never (gave up at {})", fmt_ms(op.completed)),
    };
    let resolved = match (&op.outcome, k.ret) {
        (Outcome::Unknown { .. }, Ret::Written(rv)) => format!(", H has it at rv {rv}"),
        (Outcome::Unknown { .. }, Ret::MaybeDeleted) => ", may have taken effect".to_string(),
        _ => String::new(),
    };
    format!(
        "op {} (client {}, {}) [{} .. {}]: {} -> {}{resolved}",
        op.id,
        op.client,
        fmt_target(op.target),
        fmt_ms(op.invoked),
        end,
        fmt_call(&op.call),
        fmt_outcome(&op.outcome),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::history::Event;

    fn run(ops: Vec<Op>, h: &[Event]) -> Report {
        let history = history(ops, h);
        let mut report = Report::default();
        check(&history, Some(&Committed::new(h)), &mut report);
        report
    }

    fn is_linearizable(ops: Vec<Op>, h: &[Event]) -> bool {
        let report = run(ops, h);
        assert!(report.unverified.is_empty(), "{report:?}");
        report.linearizable.is_none()
    }

    #[test]
    fn concurrent_history_is_linearizable() {
        let ops = vec![
            op(1, 0, 10, create("a", 1), written(10)),
            // Both reads overlap the create: one sees it, one does not.
            op(2, 1, 2, get("a"), Outcome::NotFound),
            op(3, 3, 4, get("a"), found(1, 10)),
            // The conflict must come after op 4 and the read at 7..8 before it, although op
            // 4 was invoked first: only one order works, and the search must find it.
            op(4, 5, 20, update("a", 1, 10, 2), written(11)),
            op(5, 6, 8, update("a", 1, 10, 3), Outcome::Conflict),
            op(6, 7, 8, get("a"), found(1, 10)),
            op(7, 9, 12, get("a"), found(2, 11)),
            op(8, 13, 14, create("a", 4), Outcome::AlreadyExists),
            op(9, 15, 16, delete("a"), Outcome::Deleted),
            op(10, 17, 18, update("a", 2, 11, 5), Outcome::NotFound),
            op(11, 17, 18, delete("a"), Outcome::NotFound),
            op(12, 19, 20, create("a", 6), written(13)),
        ];
        assert!(is_linearizable(ops.clone(), &[]));

        // A read of the old value after the conflicting update returned has no place.
        let mut stale = ops;
        stale[5] = op(6, 9, 10, get("a"), found(1, 10));
        assert!(!is_linearizable(stale, &[]));
    }

    #[test]
    fn touching_intervals_are_concurrent() {
        // The read was invoked the instant the create returned: either order is fine.
        let ops = vec![
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 1, 2, get("a"), Outcome::NotFound),
        ];
        assert!(is_linearizable(ops, &[]));
        let ops = vec![
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 2, 3, get("a"), Outcome::NotFound),
        ];
        assert!(!is_linearizable(ops, &[]));
    }

    #[test]
    fn stale_read_gives_a_short_sub_history() {
        let ops = vec![
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 0, 1, create("b", 7), written(11)),
            op(3, 2, 3, update("a", 1, 10, 2), written(12)),
            op(4, 4, 5, get("a"), found(1, 10)),
            op(5, 6, 7, get("a"), found(2, 12)),
            op(6, 8, 9, update("a", 2, 12, 3), written(13)),
            op(7, 10, 11, get("a"), found(3, 13)),
            op(8, 10, 11, get("b"), found(7, 11)),
        ];
        let report = run(ops, &[]);
        let nl = report.linearizable.expect("stale read must be caught");
        assert_eq!(nl.key, "a");
        assert_eq!(
            nl.ops,
            [
                "op 1 (client 1, proxy) [0.000ms .. 1.000ms]: create a=1 -> written @10",
                "op 3 (client 3, proxy) [2.000ms .. 3.000ms]: update a=2 if 1@10 -> written @12",
                "op 4 (client 4, proxy) [4.000ms .. 5.000ms]: get a -> found 1@10",
            ]
        );
    }

    #[test]
    fn unknown_write_resolved_by_h() {
        // The create never answered, but H holds it: it may take effect long after the
        // client gave up, so a read that misses it and a later one that sees it are fine.
        let ops = vec![
            op(1, 0, 1, create("a", 1), unknown()),
            op(2, 5, 6, get("a"), Outcome::NotFound),
            op(3, 7, 8, get("a"), found(1, 10)),
            op(4, 9, 10, update("a", 1, 10, 2), written(11)),
        ];
        let h = [added("a", 1, 10), modified("a", 2, 11)];
        assert!(is_linearizable(ops.clone(), &h));
        // Resolved at rv 10, it cannot explain a read of rv 9.
        let mut wrong_rv = ops.clone();
        wrong_rv[2] = op(3, 7, 8, get("a"), found(1, 9));
        assert!(!is_linearizable(wrong_rv, &h));

        let report = run(ops[..1].to_vec(), &h);
        assert!(report.linearizable.is_none());
        let mut read_before = ops[..1].to_vec();
        read_before.push(op(2, 5, 6, get("a"), found(2, 11)));
        let nl = run(read_before, &h).linearizable.unwrap();
        assert_eq!(
            nl.ops[0],
            "op 1 (client 1, proxy) [0.000ms .. never (gave up at 1.000ms)]: create a=1 -> \
             unknown (timeout), H has it at rv 10"
        );
    }

    #[test]
    fn unknown_write_not_in_h_is_dropped() {
        let ops = vec![
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 2, 3, update("a", 1, 10, 2), unknown()),
            op(3, 4, 5, get("a"), found(1, 10)),
        ];
        let h = [added("a", 1, 10)];
        assert!(is_linearizable(ops.clone(), &h));
        // H says it never happened, so nobody may have read it.
        let mut saw_it = ops;
        saw_it.push(op(4, 6, 7, get("a"), found(2, 11)));
        assert!(!is_linearizable(saw_it, &h));
    }

    #[test]
    fn failed_ops_and_unknown_reads_are_dropped() {
        let ops = vec![
            op(1, 0, 1, create("a", 1), failed()),
            op(2, 2, 3, get("a"), unknown()),
            op(3, 4, 5, get("a"), Outcome::NotFound),
        ];
        assert!(is_linearizable(ops, &[]));
    }

    #[test]
    fn unknown_delete_may_or_may_not_take_effect() {
        let prefix = [
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 2, 3, delete("a"), unknown()),
        ];
        let with = |reads: [Op; 2]| prefix.iter().cloned().chain(reads).collect::<Vec<_>>();
        assert!(is_linearizable(
            with([
                op(3, 4, 5, get("a"), found(1, 10)),
                op(4, 6, 7, get("a"), Outcome::NotFound)
            ]),
            &[]
        ));
        assert!(is_linearizable(
            with([
                op(3, 4, 5, get("a"), found(1, 10)),
                op(4, 6, 7, get("a"), found(1, 10))
            ]),
            &[]
        ));
        // Nor does it have to: a second delete of a key already gone need not fail.
        assert!(is_linearizable(
            vec![
                op(1, 0, 1, create("a", 1), written(10)),
                op(2, 2, 3, delete("a"), Outcome::Deleted),
                op(3, 4, 5, delete("a"), unknown()),
                op(4, 6, 7, get("a"), Outcome::NotFound),
            ],
            &[]
        ));
        // Once gone, it cannot come back.
        assert!(!is_linearizable(
            with([
                op(3, 4, 5, get("a"), Outcome::NotFound),
                op(4, 6, 7, get("a"), found(1, 10))
            ]),
            &[]
        ));
    }

    #[test]
    fn rvs_only_move_forward_and_preconditions_hold() {
        let base = [
            op(1, 0, 1, create("a", 1), written(10)),
            op(2, 2, 3, delete("a"), Outcome::Deleted),
        ];
        let with = |last: Op| base.iter().cloned().chain([last]).collect::<Vec<_>>();
        assert!(is_linearizable(
            with(op(3, 4, 5, create("a", 2), written(11))),
            &[]
        ));
        assert!(!is_linearizable(
            with(op(3, 4, 5, create("a", 2), written(9))),
            &[]
        ));
        // The create rv must also follow the scenario's start (rv 1).
        assert!(!is_linearizable(
            vec![op(1, 0, 1, create("a", 1), written(1))],
            &[]
        ));
        // A conflict when the precondition held, or an update of the wrong version.
        let ok = op(1, 0, 1, create("a", 1), written(10));
        assert!(!is_linearizable(
            vec![
                ok.clone(),
                op(2, 2, 3, update("a", 1, 10, 2), Outcome::Conflict)
            ],
            &[]
        ));
        assert!(!is_linearizable(
            vec![ok, op(2, 2, 3, update("a", 1, 9, 2), written(11))],
            &[]
        ));
    }

    #[test]
    fn long_overlapping_history_is_decided_quickly() {
        // A chain of 300 updates, each overlapping the next, with a read inside each.
        let mut ops = vec![op(0, 0, 1, create("a", 1), written(10))];
        for i in 1..300 {
            let (t, v) = (2 * i, i);
            ops.push(op(
                2 * i,
                t,
                t + 3,
                update("a", v, 9 + v, v + 1),
                written(10 + v),
            ));
            ops.push(op(2 * i + 1, t + 1, t + 2, get("a"), found(v, 9 + v)));
        }
        let history = history(ops, &[]);
        let mut report = Report::default();
        check(&history, None, &mut report);
        assert!(report.passed(), "{report:?}");
    }

    #[test]
    fn search_gives_up_at_the_step_cap() {
        let history = history(
            vec![
                op(1, 0, 1, create("a", 1), written(10)),
                op(2, 2, 3, get("a"), found(1, 10)),
            ],
            &[],
        );
        let ops: Vec<KeyOp> = history
            .ops
            .iter()
            .map(|op| match resolve(op, None) {
                Resolved::Keep(k) => k,
                _ => unreachable!(),
            })
            .collect();
        let init = KeyState {
            cur: None,
            last_rv: 1,
        };
        assert_eq!(check_ops(&ops, init, 1), Verdict::GaveUp);
        assert_eq!(check_ops(&ops, init, 100), Verdict::Linearizable);
    }

    #[test]
    fn unknown_writes_without_h_are_unverified() {
        let history = history(vec![op(1, 0, 1, create("a", 1), unknown())], &[]);
        let mut report = Report::default();
        check(&history, None, &mut report);
        assert_eq!(report.unverified.len(), 1, "{report:?}");
        assert!(report.unverified[0].starts_with("key a:"));
    }
}
