//! Older views kept for reads at an exact revision: recent views (for
//! `resourceVersionMatch=Exact`) and views pinned by paginated lists, so every page of a
//! list comes from the revision of its first page.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::view::KindView;

const RECENT_VIEWS: usize = 64;
const PINNED_VIEWS: usize = 128;
/// How long a paginated list stays consistent (upstream: etcd's compaction interval).
pub const PIN_TTL: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Retained {
    recent: VecDeque<Arc<KindView>>,
    pinned: VecDeque<(u64, Arc<KindView>, Instant)>,
}

impl Retained {
    pub fn remember(&mut self, view: Arc<KindView>) {
        self.recent.push_back(view);
        while self.recent.len() > RECENT_VIEWS {
            self.recent.pop_front();
        }
    }

    pub fn pin(&mut self, revision: u64, view: Arc<KindView>) {
        let now = Instant::now();
        self.pinned
            .retain(|(_, _, at)| now.duration_since(*at) < PIN_TTL);
        if self.pinned.iter().any(|(r, _, _)| *r == revision) {
            return;
        }
        self.pinned.push_back((revision, view, now));
        while self.pinned.len() > PINNED_VIEWS {
            self.pinned.pop_front();
        }
    }

    /// A view exact at `revision`, given the current view, if one is retained.
    pub fn view_at(&self, revision: u64, current: &Arc<KindView>) -> Option<Arc<KindView>> {
        let now = Instant::now();
        if let Some((_, view, _)) = self
            .pinned
            .iter()
            .find(|(r, _, at)| *r == revision && now.duration_since(*at) < PIN_TTL)
        {
            return Some(view.clone());
        }
        // The newest view at or before `revision` is exact there if the next one is after it.
        let mut candidates: Vec<&Arc<KindView>> = self.recent.iter().collect();
        candidates.push(current);
        let position = candidates.iter().rposition(|v| v.revision <= revision)?;
        let next_is_later = candidates
            .get(position + 1)
            .is_none_or(|next| next.revision > revision);
        next_is_later.then(|| candidates[position].clone())
    }
}
