//! The result table: one row per figure with keelson's value, etcd's, and the ratio
//! keelson ÷ etcd; a second table for keelson-only figures (no etcd equivalent); the
//! points of the cost model ([`crate::cost`]); notes for anything that went wrong; and
//! the section appended to docs/benchmarks.md.

use std::path::Path;

use anyhow::{Context, Result};

use crate::driver::Stats;

/// How a figure's values are printed.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    PerSec,
    Millis,
    Micros,
    MiB,
    Count,
}

#[derive(Debug)]
pub struct Row {
    pub figure: String,
    pub unit: Unit,
    pub keelson: Option<f64>,
    pub etcd: Option<f64>,
}

/// A keelson-only figure: one load point, or why it has none.
#[derive(Debug)]
pub struct SoloRow {
    pub figure: String,
    pub ops_per_sec: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// One point of one figure along one dimension of the cost model.
#[derive(Clone, Debug)]
pub struct CostPoint {
    /// What grows: "object count", "object size", "watchers", "replicas".
    pub dimension: String,
    pub figure: String,
    /// The value of the dimension at this point, e.g. "10,000" or "8 KiB".
    pub at: String,
    pub unit: Unit,
    pub keelson: Option<f64>,
    pub etcd: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub solo: Vec<SoloRow>,
    pub cost: Vec<CostPoint>,
    pub notes: Vec<String>,
}

// === impl Report ===

impl Report {
    pub fn row(
        &mut self,
        figure: impl Into<String>,
        unit: Unit,
        keelson: Option<f64>,
        etcd: Option<f64>,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            unit,
            keelson,
            etcd,
        });
    }

    /// A keelson-only load point (every value "–" when `stats` has no measurement).
    pub fn solo(&mut self, figure: impl Into<String>, stats: &Stats) {
        self.solo.push(SoloRow {
            figure: figure.into(),
            ops_per_sec: stats.ops_per_sec(),
            p50_ms: stats.quantile_ms(0.50),
            p99_ms: stats.quantile_ms(0.99),
        });
    }

    /// A point of the cost model.
    pub fn cost(
        &mut self,
        dimension: &str,
        figure: &str,
        at: &str,
        unit: Unit,
        keelson: Option<f64>,
        etcd: Option<f64>,
    ) {
        self.cost.push(CostPoint {
            dimension: dimension.into(),
            figure: figure.into(),
            at: at.into(),
            unit,
            keelson,
            etcd,
        });
    }

    /// The keelson-only table (empty when there are no such figures).
    pub fn solo_table(&self) -> String {
        if self.solo.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "| figure (keelson only) | ops/s | p50 ms | p99 ms |\n|---|---:|---:|---:|\n",
        );
        for r in &self.solo {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.figure,
                value(Unit::PerSec, r.ops_per_sec),
                value(Unit::Millis, r.p50_ms),
                value(Unit::Millis, r.p99_ms)
            ));
        }
        out
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("note: {note}");
        self.notes.push(note);
    }

    /// Three rows for one load point (ops/s, p50, p99), and a note per side with errors.
    pub fn point(&mut self, what: &str, ops: &str, keelson: &Stats, etcd: &Stats) {
        self.row(
            format!("{what}: {ops}/s"),
            Unit::PerSec,
            keelson.ops_per_sec(),
            etcd.ops_per_sec(),
        );
        self.row(
            format!("{what}: p50 ms"),
            Unit::Millis,
            keelson.quantile_ms(0.50),
            etcd.quantile_ms(0.50),
        );
        self.row(
            format!("{what}: p99 ms"),
            Unit::Millis,
            keelson.quantile_ms(0.99),
            etcd.quantile_ms(0.99),
        );
        self.errors(what, "keelson", keelson);
        self.errors(what, "etcd", etcd);
    }

    /// A note when a run had errors, with the first messages.
    pub fn errors(&mut self, what: &str, side: &str, stats: &Stats) {
        if stats.errors > 0 {
            let first = stats
                .first_errors
                .iter()
                .map(|e| format!("`{}`", one_line(e)))
                .collect::<Vec<_>>()
                .join("; ");
            self.note(format!(
                "{what}, {side}: {} of {} requests failed; first errors: {first}",
                stats.errors,
                stats.errors + stats.succeeded
            ));
        }
    }

    /// The markdown table.
    pub fn table(&self) -> String {
        let mut out =
            String::from("| figure | keelson | etcd | keelson ÷ etcd |\n|---|---:|---:|---:|\n");
        for r in &self.rows {
            let ratio = match (r.keelson, r.etcd) {
                (Some(k), Some(e)) if e > 0.0 => format!("{:.2}", k / e),
                _ => "–".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {ratio} |\n",
                r.figure,
                value(r.unit, r.keelson),
                value(r.unit, r.etcd)
            ));
        }
        out
    }

    /// The notes as a markdown list (empty when there are none).
    pub fn notes_markdown(&self) -> String {
        self.notes.iter().map(|n| format!("- {n}\n")).collect()
    }
}

/// A value as the tables print it ("–" for none).
pub fn value(unit: Unit, v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    match unit {
        Unit::PerSec | Unit::Count => thousands(v.round() as u64),
        Unit::Millis | Unit::Micros if v >= 100.0 => thousands(v.round() as u64),
        Unit::Millis | Unit::Micros if v >= 10.0 => format!("{v:.1}"),
        Unit::Millis | Unit::Micros => format!("{v:.2}"),
        Unit::MiB => format!("{v:.1}"),
    }
}

/// `n` with a comma between groups of three digits.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('`', "'")
        .replace('|', "/")
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Appends `section` to the markdown file at `path`, creating it with a title first.
pub fn append_section(path: &Path, section: &str) -> Result<()> {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    if text.trim().is_empty() {
        text = String::from(
            "# Benchmarks\n\nFull runs of `benches/run.sh`, oldest first: keelson and a single-node etcd \
             (Debian's etcd-server) started side by side on loopback by the benchmark itself, on the same \
             disk and the same cores, each driven with the same closed-loop load; then three keelson \
             replicas behind HAProxy against a three-member etcd. The ratio column is \
             keelson ÷ etcd: above 1 is better for rates, below 1 is better for times and sizes. \
             See benches/README.md for what each figure measures.\n",
        );
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    text.push_str(section);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_values_and_ratios() {
        let mut r = Report::default();
        r.row("puts/s", Unit::PerSec, Some(12345.4), Some(10000.0));
        r.row("p99 ms", Unit::Millis, Some(1.234), None);
        let t = r.table();
        assert!(t.contains("| puts/s | 12,345 | 10,000 | 1.23 |"), "{t}");
        assert!(t.contains("| p99 ms | 1.23 | – | – |"), "{t}");
    }
}
