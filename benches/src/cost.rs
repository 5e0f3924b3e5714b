//! The cost model (issue #6, item 3): how each figure grows along one dimension at a
//! time — object count, object size, watchers, replicas — with keelson's and etcd's
//! values at each point and the growth from the dimension's first point. The scenarios
//! record the points ([`crate::report::Report::cost`]); this draws them as one table
//! from every part of a run, so the replica dimension can take its first point from the
//! single-node part and its second from the three-replica part.

use crate::report::{value, CostPoint};

/// The markdown table of `points`, grouped by dimension and figure in the order first
/// seen; empty when there are none.
pub fn table(points: &[CostPoint]) -> String {
    if points.is_empty() {
        return String::new();
    }
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for p in points {
        let key = (p.dimension.as_str(), p.figure.as_str());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let mut out = String::from(
        "| dimension | figure | at | keelson | etcd | keelson ÷ etcd | keelson growth | etcd growth |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (dimension, figure) in groups {
        let group: Vec<&CostPoint> = points
            .iter()
            .filter(|p| p.dimension == dimension && p.figure == figure)
            .collect();
        let first = group[0];
        for p in &group {
            out.push_str(&format!(
                "| {dimension} | {figure} | {} | {} | {} | {} | {} | {} |\n",
                p.at,
                value(p.unit, p.keelson),
                value(p.unit, p.etcd),
                ratio(p.keelson, p.etcd),
                growth(first.keelson, p.keelson),
                growth(first.etcd, p.etcd),
            ));
        }
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    }
}

/// `to` as a multiple of `from`, e.g. "×2.31".
fn growth(from: Option<f64>, to: Option<f64>) -> String {
    match (from, to) {
        (Some(f), Some(t)) if f > 0.0 => format!("×{:.2}", t / f),
        _ => "–".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Unit;

    fn point(at: &str, k: f64, e: f64) -> CostPoint {
        CostPoint {
            dimension: "object count".into(),
            figure: "LIST, ms".into(),
            at: at.into(),
            unit: Unit::Millis,
            keelson: Some(k),
            etcd: Some(e),
        }
    }

    #[test]
    fn growth_is_against_the_first_point_of_the_same_figure() {
        let t = table(&[point("10,000", 50.0, 40.0), point("100,000", 500.0, 200.0)]);
        assert!(
            t.contains("| object count | LIST, ms | 100,000 | 500 | 200 | 2.50 | ×10.00 | ×5.00 |"),
            "{t}"
        );
        assert!(
            t.contains("| 10,000 | 50.0 | 40.0 | 1.25 | ×1.00 | ×1.00 |"),
            "{t}"
        );
    }
}
