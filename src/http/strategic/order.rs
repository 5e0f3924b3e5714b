//! The order of a merged list, as upstream computes it: items the patch names follow the
//! patch's (or `$setElementOrder`'s) order, items only the server has keep the live order,
//! and the two are interleaved by their positions in the live list.
//!
//! Sorting uses Go's stable sort (insertion-sorted blocks of 20, then in-place symmetric
//! merges) rather than Rust's, because upstream's comparator is not a strict order when an
//! item is missing from the order list, and then only the same algorithm gives the same
//! result.

use std::collections::HashMap;

use serde_json::Value;

use super::list::{validate_merge_key_in_lists, Kind};
use super::SmpError;

/// How list items are compared: by the value of the merge key (lists of maps) or by
/// themselves (lists of primitives). Values compare as their JSON text, which keeps
/// Go's distinction between `1` and `1.0`.
#[derive(Clone, Copy)]
pub struct Identity<'k>(pub Option<&'k str>);

impl Identity<'_> {
    pub fn of(&self, item: &Value) -> String {
        match self.0 {
            Some(key) => match item.get(key) {
                Some(v) if item.is_object() => v.to_string(),
                _ => "null".to_string(),
            },
            None => item.to_string(),
        }
    }

    /// First position of each identity in `list`.
    fn positions(&self, list: &[Value]) -> HashMap<String, usize> {
        let mut out = HashMap::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            out.entry(self.of(item)).or_insert(i);
        }
        out
    }
}

/// Orders `patch_items` by `patch_order` and `server_only` by `server_order`, then
/// interleaves them (upstream's normalizeElementOrder).
pub fn normalize(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, SmpError> {
    let patch_items = sort_by_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = sort_by_order(server_only, server_order, merge_key, kind)?;
    let identity = identity(merge_key, kind);
    let positions = identity.positions(server_order);
    let pos = |v: &Value| positions.get(&identity.of(v)).copied();
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!((pos(l), pos(r)), (Some(a), Some(b)) if a < b),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

fn identity(merge_key: &str, kind: Kind) -> Identity<'_> {
    Identity((kind == Kind::Map).then_some(merge_key))
}

/// Upstream's normalizeSliceOrder: maps must carry the merge key; `$patch: delete` items
/// go last; the rest are stably sorted by their position in `order`.
fn sort_by_order(
    items: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Result<Vec<Value>, SmpError> {
    let mut deletes = Vec::new();
    let mut items = items;
    if kind == Kind::Map {
        validate_merge_key_in_lists(merge_key, &[&items, order])?;
        let (del, keep): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|v| v.get("$patch").and_then(Value::as_str) == Some("delete"));
        items = keep;
        deletes = del;
    }
    let identity = identity(merge_key, kind);
    let positions = identity.positions(order);
    let mut keyed: Vec<(Option<usize>, Value)> = items
        .into_iter()
        .map(|v| (positions.get(&identity.of(&v)).copied(), v))
        .collect();
    go_stable_sort(&mut keyed, |a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x < y,
        _ => true,
    });
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(deletes);
    Ok(out)
}

/// Go's `sort.Stable`: insertion sort on blocks of 20, then symmetric merges of doubling
/// runs.
pub fn go_stable_sort<T>(data: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = data.len();
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(data, a, b, &less);
        a = b;
        b += block;
    }
    insertion_sort(data, a, n, &less);
    while block < n {
        let (mut a, mut b) = (0, 2 * block);
        while b <= n {
            sym_merge(data, a, a + block, b, &less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(data, a, m, n, &less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(data: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&data[j], &data[j - 1]) {
            data.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// Merges the sorted runs `data[a..m]` and `data[m..b]` in place (Kim and Kutzner's
/// SymMerge, as Go implements it).
fn sym_merge<T>(data: &mut [T], a: usize, m: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if m - a == 1 {
        // Binary search for the first element of data[m..b] not less than data[a].
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(&data[h], &data[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        for k in a..i - 1 {
            data.swap(k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(&data[m], &data[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            data.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(&data[p - c], &data[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        data[start..end].rotate_left(m - start);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}
