//! Watch streams: a stream must deliver exactly the committed history `H` after the rv it
//! started from, in rv order, each event once, with nothing `H` does not hold, and every
//! reconnect must resume where the last connection left off. The one excused gap is
//! across a connection the server ended with 410 Gone: the client then relists, and the
//! events between its last one and the new list are legitimately never seen as events.
//!
//! Events are not tagged with the connection that delivered them; since both events and
//! connections are in time order, an event belongs to the last connection opened at or
//! before it arrived.

use std::collections::HashSet;

use super::{fmt_event, fmt_target, Committed, Report};
use crate::history::{Connection, Event, History, Rv, WatchStream};

pub(crate) fn check(history: &History, h: Option<&Committed>, report: &mut Report) {
    for stream in &history.watches {
        check_stream(stream, history.start_rv, h, &mut report.watch_violations);
    }
}

fn check_stream(s: &WatchStream, h_start: Rv, h: Option<&Committed>, out: &mut Vec<String>) {
    let name = format!("watch {} ({})", s.id, fmt_target(s.target));
    let mut last: Option<Rv> = None; // the highest rv delivered so far
    let mut delivered: HashSet<Rv> = HashSet::new();
    // (after, upto]: rv ranges a 410 Gone excuses from the gap check.
    let mut excused: Vec<(Rv, Rv)> = Vec::new();

    for (i, (conn, events)) in by_connection(s).into_iter().enumerate() {
        let before = last.unwrap_or(s.start_rv);
        if let Some(conn) = conn {
            let after_gone = i > 0 && s.connections[i - 1].gone;
            if !after_gone && conn.from_rv != before {
                out.push(format!(
                    "{name}: connection {i} started from rv {} but the stream was at rv \
                     {before}",
                    conn.from_rv
                ));
            }
            if after_gone {
                if conn.from_rv < before {
                    out.push(format!(
                        "{name}: connection {i} relisted after 410 Gone at rv {}, behind rv \
                         {before} it had already seen",
                        conn.from_rv
                    ));
                }
                excused.push((before, conn.from_rv));
            }
        }

        for e in events {
            let at = || format!("{name}: {}", fmt_event(e));
            if e.rv <= s.start_rv {
                // Nothing else can be said about an event from before the stream began.
                out.push(format!(
                    "{}: at or below the stream's start rv {}",
                    at(),
                    s.start_rv
                ));
                continue;
            }
            if let Some(conn) = conn.filter(|c| e.rv <= c.from_rv) {
                out.push(format!(
                    "{}: delivered on connection {i}, which started from rv {}",
                    at(),
                    conn.from_rv
                ));
            }
            match last {
                Some(_) if delivered.contains(&e.rv) => {
                    out.push(format!("{}: rv {} delivered twice", at(), e.rv));
                }
                Some(l) if e.rv < l => out.push(format!("{}: out of order, after rv {l}", at())),
                _ => {}
            }
            if let Some(h) = h.filter(|_| e.rv > h_start) {
                match h.by_rv.get(&e.rv) {
                    None => out.push(format!(
                        "{}: phantom event, H has nothing at rv {}",
                        at(),
                        e.rv
                    )),
                    Some(c) if (c.kind, &c.key, c.value) != (e.kind, &e.key, e.value) => {
                        out.push(format!("{}: H has {} there", at(), fmt_event(c)));
                    }
                    Some(_) => {}
                }
            }
            last = last.max(Some(e.rv));
            delivered.insert(e.rv);
        }
    }

    if s.must_reach_end && !s.reached_end {
        out.push(format!(
            "{name}: stopped at rv {} without reaching the end marker",
            last.unwrap_or(s.start_rv)
        ));
    }
    // A stream that reached the end marker owes every committed event after its start.
    let end = match (s.reached_end, h.and_then(|h| h.events.last())) {
        (true, Some(newest)) => last.max(Some(newest.rv)),
        _ => last,
    };
    // `end` only counts events above the stream's start, so (start, end] is not empty.
    if let (Some(h), Some(end)) = (h, end.filter(|&e| e > s.start_rv)) {
        check_gaps(&name, h, s.start_rv, end, &delivered, &excused, out);
    }
}

/// Every event of `H` in (start, end] must have been delivered, unless excused. Runs of
/// consecutive missed events are reported as one line.
fn check_gaps(
    name: &str,
    h: &Committed,
    start: Rv,
    end: Rv,
    delivered: &HashSet<Rv>,
    excused: &[(Rv, Rv)],
    out: &mut Vec<String>,
) {
    let missed = |e: &&Event| {
        !delivered.contains(&e.rv) && !excused.iter().any(|&(a, b)| a < e.rv && e.rv <= b)
    };
    let mut run: Vec<&Event> = Vec::new();
    let mut flush = |run: &mut Vec<&Event>| match run.as_slice() {
        [] => {}
        [e] => out.push(format!("{name}: missed {}", fmt_event(e))),
        [first, .., last] => out.push(format!(
            "{name}: missed {} events, rv {}..={} (from {} to {})",
            run.len(),
            first.rv,
            last.rv,
            fmt_event(first),
            fmt_event(last)
        )),
    };
    for e in h.by_rv.range(start + 1..=end).map(|(_, e)| e) {
        if missed(e) {
            run.push(e);
        } else {
            flush(&mut run);
            run.clear();
        }
    }
    flush(&mut run);
}

/// Splits the stream's events among its connections (see the module doc). Without any
/// connection recorded, all events form one group with no connection to check.
fn by_connection(s: &WatchStream) -> Vec<(Option<&Connection>, &[Event])> {
    if s.connections.is_empty() {
        return vec![(None, &s.events[..])];
    }
    let mut groups = Vec::with_capacity(s.connections.len());
    let mut rest = &s.events[..];
    for (i, conn) in s.connections.iter().enumerate() {
        let take = match s.connections.get(i + 1) {
            Some(next) => rest.partition_point(|e| e.at < next.opened),
            None => rest.len(),
        };
        let (mine, later) = rest.split_at(take);
        groups.push((Some(conn), mine));
        rest = later;
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::history::Target;

    /// H: a at rvs 10..=13, then b at 14 and 15.
    fn h() -> Vec<Event> {
        vec![
            added("a", 1, 10),
            modified("a", 2, 11),
            modified("a", 3, 12),
            deleted("a", 3, 13),
            added("b", 4, 14),
            modified("b", 5, 15),
        ]
    }

    /// The event of `h()` at `rv`, delivered at `at`.
    fn got(rv: Rv, at: u64) -> Event {
        let mut e = h().into_iter().find(|e| e.rv == rv).unwrap();
        e.at = at;
        e
    }

    fn conn(from_rv: Rv, opened: u64, gone: bool) -> Connection {
        Connection {
            from_rv,
            opened,
            ended_because: if gone { "410 Gone" } else { "" }.into(),
            gone,
        }
    }

    fn run(events: Vec<Event>, connections: Vec<Connection>) -> Vec<String> {
        run_to_end(events, connections, false, false)
    }

    fn run_to_end(
        events: Vec<Event>,
        connections: Vec<Connection>,
        reached_end: bool,
        must_reach_end: bool,
    ) -> Vec<String> {
        let h = h();
        let stream = WatchStream {
            id: 7,
            target: Target::Replica(2),
            start_rv: 9,
            events,
            connections,
            reached_end,
            must_reach_end,
        };
        let mut history = history(vec![], &h);
        history.watches.push(stream);
        let mut report = Report::default();
        check(&history, Some(&Committed::new(&h)), &mut report);
        report.watch_violations
    }

    #[test]
    fn resumed_stream_is_clean() {
        let events = (10..=15).map(|rv| got(rv, rv * 10)).collect();
        // The first connection broke after rv 12 and the second resumed from it.
        let v = run(events, vec![conn(9, 0, false), conn(12, 125, false)]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn stream_that_stops_early() {
        let events = [10, 11].map(|rv| got(rv, rv)).to_vec();
        let v = run_to_end(events.clone(), vec![conn(9, 0, false)], false, true);
        assert_eq!(
            v,
            ["watch 7 (replica 2): stopped at rv 11 without reaching the end marker"]
        );
        // Reaching the end marker without the last events is a gap.
        let v = run_to_end(events, vec![conn(9, 0, false)], true, true);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("missed 4 events, rv 12..=15"), "{v:?}");
        // The whole history delivered, then the end: clean.
        let all = (10..=15).map(|rv| got(rv, rv)).collect();
        assert!(run_to_end(all, vec![conn(9, 0, false)], true, true).is_empty());
    }

    #[test]
    fn gap() {
        let events = [10, 11, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): missed 2 events, rv 12..=13 (from MODIFIED a=3@12 to \
              DELETED a=3@13)"
            ]
        );
    }

    #[test]
    fn duplicate() {
        let events = [10, 11, 11, 12, 13, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, false)]);
        assert_eq!(
            v,
            ["watch 7 (replica 2): MODIFIED a=2@11: rv 11 delivered twice"]
        );
    }

    #[test]
    fn duplicate_across_a_reconnect() {
        // The second connection resumed from the wrong rv and replayed rv 12.
        let events = [10, 11, 12, 12, 13, 14, 15]
            .iter()
            .enumerate()
            .map(|(i, &rv)| got(rv, i as u64))
            .collect();
        let v = run(events, vec![conn(9, 0, false), conn(11, 3, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): connection 1 started from rv 11 but the stream was at \
                 rv 12",
                "watch 7 (replica 2): MODIFIED a=3@12: rv 12 delivered twice",
            ]
        );
    }

    #[test]
    fn out_of_order() {
        let events = [10, 12, 11, 13, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, false)]);
        assert_eq!(
            v,
            ["watch 7 (replica 2): MODIFIED a=2@11: out of order, after rv 12"]
        );
    }

    #[test]
    fn phantom_and_mismatched_events() {
        let mut events: Vec<Event> = (10..=15).map(|rv| got(rv, rv)).collect();
        events[1].value = 99;
        events.push(modified("b", 6, 16));
        let v = run(events, vec![conn(9, 0, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): MODIFIED a=99@11: H has MODIFIED a=2@11 there",
                "watch 7 (replica 2): MODIFIED b=6@16: phantom event, H has nothing at rv 16",
            ]
        );
    }

    #[test]
    fn event_at_or_before_start() {
        let mut events: Vec<Event> = (10..=15).map(|rv| got(rv, rv)).collect();
        events.insert(0, modified("z", 0, 9));
        let v = run(events, vec![conn(9, 0, false)]);
        assert_eq!(
            v,
            ["watch 7 (replica 2): MODIFIED z=0@9: at or below the stream's start rv 9"]
        );
    }

    #[test]
    fn resume_from_the_wrong_rv() {
        // Resuming from 13 after seeing only up to 11 skips rv 12 and 13 silently.
        let events = [10, 11, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, false), conn(13, 12, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): connection 1 started from rv 13 but the stream was at \
                 rv 11",
                "watch 7 (replica 2): missed 2 events, rv 12..=13 (from MODIFIED a=3@12 to \
                 DELETED a=3@13)",
            ]
        );
        // The first connection must start at the stream's start.
        let events = (10..=15).map(|rv| got(rv, rv)).collect();
        let v = run(events, vec![conn(8, 0, false)]);
        assert_eq!(
            v,
            ["watch 7 (replica 2): connection 0 started from rv 8 but the stream was at rv 9"]
        );
    }

    #[test]
    fn gone_excuses_the_gap_to_the_relist() {
        let events = [10, 11, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, true), conn(13, 12, false)]);
        assert!(v.is_empty(), "{v:?}");
        // ...but only up to the relist: rv 14 is still owed.
        let events = [10, 11, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, true), conn(13, 12, false)]);
        assert_eq!(v, ["watch 7 (replica 2): missed ADDED b=4@14"]);
    }

    #[test]
    fn relist_after_gone_cannot_go_back() {
        let events = [10, 11, 12, 13, 14, 15].map(|rv| got(rv, rv)).to_vec();
        // The relist at rv 11 is older than rv 12 already seen, and the events it then
        // delivers do not come after its own start.
        let v = run(events, vec![conn(9, 0, true), conn(11, 13, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): connection 1 relisted after 410 Gone at rv 11, behind rv 12 \
              it had already seen"
            ]
        );
        let events = [10, 11, 12, 13, 14, 15].map(|rv| got(rv, rv)).to_vec();
        let v = run(events, vec![conn(9, 0, true), conn(13, 13, false)]);
        assert_eq!(
            v,
            [
                "watch 7 (replica 2): DELETED a=3@13: delivered on connection 1, which started \
              from rv 13"
            ]
        );
    }
}
