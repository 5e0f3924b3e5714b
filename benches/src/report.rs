//! The result table: one row per figure with keelson's value, etcd's, and the ratio
//! keelson ÷ etcd; notes for anything that went wrong; and the section appended to
//! docs/benchmarks.md.

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

#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
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

fn value(unit: Unit, v: Option<f64>) -> String {
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
