//! etcd's side of the figures added for issue #6: the update with a precondition
//! (a txn comparing the key's mod_revision, then a put — what kube-apiserver's etcd3
//! store sends for an update with a resourceVersion) and a paged range (limit N, the
//! next page starting just past the last key, as a paginated LIST reads etcd).

use std::sync::Arc;

use etcd_client::{Compare, CompareOp, GetOptions, KvClient, Txn, TxnOp};

use crate::driver::Op;

/// Puts `key` and returns its mod_revision (the revision of the put).
pub async fn put_rev(kv: &mut KvClient, key: &str, value: &str) -> Result<i64, String> {
    let r = kv
        .put(key, value.as_bytes(), None)
        .await
        .map_err(|e| e.to_string())?;
    r.header()
        .map(|h| h.revision())
        .ok_or_else(|| "put answered with no header".into())
}

/// Replaces its own key again and again, each time on the condition that its
/// mod_revision is still the one the previous txn produced (so it never fails).
pub struct Update {
    pub kv: KvClient,
    pub key: String,
    pub rev: i64,
    pub value: Arc<str>,
}

impl Op for Update {
    async fn run(&mut self, _seq: u64) -> Result<(), String> {
        let txn = Txn::new()
            .when([Compare::mod_revision(
                self.key.as_str(),
                CompareOp::Equal,
                self.rev,
            )])
            .and_then([TxnOp::put(self.key.as_str(), self.value.as_bytes(), None)]);
        let r = self.kv.txn(txn).await.map_err(|e| e.to_string())?;
        if !r.succeeded() {
            return Err(format!(
                "mod_revision of {} is no longer {}",
                self.key, self.rev
            ));
        }
        self.rev = r
            .header()
            .map(|h| h.revision())
            .ok_or("txn answered with no header")?;
        Ok(())
    }
}

/// Reads every key under `prefix` in ranges of at most `limit` keys; returns how many
/// keys and how many ranges.
pub async fn range_pages(
    kv: &mut KvClient,
    prefix: &str,
    limit: i64,
) -> Result<(usize, usize), String> {
    let end = prefix_end(prefix.as_bytes());
    let mut start = prefix.as_bytes().to_vec();
    let (mut keys, mut pages) = (0, 0);
    loop {
        let opts = GetOptions::new().with_range(end.clone()).with_limit(limit);
        let r = kv
            .get(start.clone(), Some(opts))
            .await
            .map_err(|e| e.to_string())?;
        pages += 1;
        keys += r.kvs().len();
        let Some(last) = r.kvs().last() else { break };
        if !r.more() {
            break;
        }
        start = last.key().to_vec();
        start.push(0);
    }
    Ok((keys, pages))
}

/// The first key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefix_end_follows_every_key_of_the_prefix() {
        assert_eq!(super::prefix_end(b"/bench/"), b"/bench0".to_vec());
        assert_eq!(super::prefix_end(b"a\xff"), b"b".to_vec());
    }
}
