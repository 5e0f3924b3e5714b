//! What the harness prints: one summary line per scenario, the closing line, the
//! unavailability windows per fault kind, and the markdown results table for
//! docs/chaos.md.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::Report;
use crate::history::{History, Outcome, Target};
use crate::scenario::Injection;

pub struct ScenarioResult {
    pub name: String,
    pub report: Report,
    /// (fault kind, seconds until a write through HAProxy succeeded again).
    pub windows: Vec<(&'static str, f64)>,
    pub details: Vec<String>,
    pub took: Duration,
    /// The scenario could not be run to the end (the reason).
    pub broken: Option<String>,
    /// The cluster did not recover after healing (each a reason); fails the scenario.
    pub recovery: Vec<String>,
}

impl ScenarioResult {
    pub fn new(
        name: &str,
        history: &History,
        report: Report,
        injections: Vec<Injection>,
        mut details: Vec<String>,
        took: Duration,
    ) -> Self {
        let windows = injections
            .iter()
            .map(|i| (i.kind, unavailable_after(history, i.at)))
            .collect();
        details.extend(injections.into_iter().map(|i| i.detail));
        ScenarioResult {
            name: name.to_string(),
            report,
            windows,
            details,
            took,
            broken: None,
            recovery: Vec::new(),
        }
    }

    pub fn broken(name: &str, reason: String) -> Self {
        ScenarioResult {
            name: name.to_string(),
            report: Report::default(),
            windows: Vec::new(),
            details: Vec::new(),
            took: Duration::ZERO,
            broken: Some(reason),
            recovery: Vec::new(),
        }
    }

    fn passed(&self) -> bool {
        self.broken.is_none() && self.recovery.is_empty() && self.report.passed()
    }

    pub fn summary_line(&self) -> String {
        let r = &self.report;
        let windows: Vec<String> = self
            .windows
            .iter()
            .map(|(_, s)| format!("{s:.2}s"))
            .collect();
        format!(
            "scenario {}: {} ops={} acked={} lost={} duplicated={} linearizable={} watch_violations={} divergence={} unavailable=[{}] took={:.0}s; {}",
            self.name,
            if self.passed() { "PASS" } else { "FAIL" },
            r.ops,
            r.acked,
            r.lost.len(),
            r.duplicated.len(),
            yes_no(r),
            r.watch_violations.len(),
            r.divergence.len(),
            windows.join(" "),
            self.took.as_secs_f64(),
            self.details.join("; ")
        ) + &self
            .recovery
            .iter()
            .map(|r| format!("\n  recovery failed: {r}"))
            .collect::<String>()
    }
}

fn yes_no(r: &Report) -> &'static str {
    if r.linearizable.is_some() {
        "no"
    } else if !r.unverified.is_empty() {
        "unverified"
    } else {
        "yes"
    }
}

/// Seconds from `at` until the first write through HAProxy invoked after it succeeded.
fn unavailable_after(history: &History, at: u64) -> f64 {
    history
        .ops
        .iter()
        .filter(|op| op.target == Target::Proxy && op.invoked >= at)
        .filter(|op| matches!(op.outcome, Outcome::Written { .. } | Outcome::Deleted))
        .map(|op| op.completed)
        .min()
        .map_or(f64::INFINITY, |done| (done - at) as f64 / 1e9)
}

/// Whether `report` has a finding of `kind` (for planted-bug runs).
pub fn has_violation(report: &Report, kind: &str) -> bool {
    match kind {
        "lost" => !report.lost.is_empty(),
        "duplicated" => !report.duplicated.is_empty(),
        "linearizability" => report.linearizable.is_some(),
        "watch" => !report.watch_violations.is_empty(),
        "divergence" => !report.divergence.is_empty(),
        _ => false,
    }
}

pub struct Totals<'a> {
    results: &'a [ScenarioResult],
}

impl<'a> Totals<'a> {
    pub fn of(results: &'a [ScenarioResult]) -> Self {
        Totals { results }
    }

    pub fn passed(&self) -> bool {
        self.results.iter().all(ScenarioResult::passed)
    }

    pub fn closing_line(&self) -> String {
        let sum =
            |f: fn(&Report) -> usize| self.results.iter().map(|r| f(&r.report)).sum::<usize>();
        let linearizable = if self.results.iter().any(|r| r.report.linearizable.is_some()) {
            "no"
        } else if self.results.iter().any(|r| !r.report.unverified.is_empty()) {
            "unverified"
        } else {
            "yes"
        };
        let broken = self.results.iter().filter(|r| r.broken.is_some()).count();
        let mut line = format!(
            "chaos: scenarios={} ops={} acked={} lost={} duplicated={} linearizable={} watch_violations={}",
            self.results.len(),
            sum(|r| r.ops),
            sum(|r| r.acked),
            sum(|r| r.lost.len()),
            sum(|r| r.duplicated.len()),
            linearizable,
            sum(|r| r.watch_violations.len()),
        );
        let divergence = sum(|r| r.divergence.len());
        if divergence > 0 {
            line += &format!(" divergence={divergence}");
        }
        if broken > 0 {
            line += &format!(" broken_scenarios={broken}");
        }
        line
    }

    /// p50 / p99 unavailability per fault kind.
    pub fn window_lines(&self) -> Vec<String> {
        let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for result in self.results {
            for (kind, seconds) in &result.windows {
                by_kind.entry(kind).or_default().push(*seconds);
            }
        }
        by_kind
            .into_iter()
            .map(|(kind, mut s)| {
                s.sort_by(f64::total_cmp);
                format!(
                    "chaos: unavailable after {kind}: p50={:.2}s p99={:.2}s (n={})",
                    percentile(&s, 0.50),
                    percentile(&s, 0.99),
                    s.len()
                )
            })
            .collect()
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The results table for docs/chaos.md.
pub fn markdown_table(results: &[ScenarioResult]) -> String {
    let mut out = String::from(
        "| scenario | ops | acknowledged | lost | duplicated | linearizable | watch violations | unavailable p50 / p99 |\n|---|---:|---:|---:|---:|---|---:|---|\n",
    );
    for r in results {
        let mut s: Vec<f64> = r.windows.iter().map(|(_, s)| *s).collect();
        s.sort_by(f64::total_cmp);
        let windows = if s.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.2} s / {:.2} s",
                percentile(&s, 0.5),
                percentile(&s, 0.99)
            )
        };
        let rep = &r.report;
        out += &format!(
            "| {}{} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            if r.broken.is_some() {
                " (did not finish)"
            } else {
                ""
            },
            rep.ops,
            rep.acked,
            rep.lost.len(),
            rep.duplicated.len(),
            yes_no(rep),
            rep.watch_violations.len(),
            windows
        );
    }
    out
}
