//! Watch streams: initial state (when asked), history replay from a resourceVersion, then
//! live events from the kind's broadcast, filtered per watcher, with bookmarks and a
//! deadline.
//!
//! Start-up is gap-free without a mailbox round trip: subscribe to the broadcast first,
//! then load the view; events already in the view are skipped when they arrive again.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Sleep};

use super::cache::{encode_line, CacheReader, CachedObject, EventType, KindView, WatchEvent};
use super::descriptor::ResourceDescriptor;
use super::error::RegistryError;
use super::list::ListOptions;
use super::object;

/// How often an idle watch that allows bookmarks gets one (upstream: about a minute).
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);
/// A watch without timeoutSeconds ends after this long (upstream: 30–60 minutes).
pub const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);
/// How long a watch from a future resourceVersion waits for it.
pub const FUTURE_REVISION_WAIT: Duration = Duration::from_secs(3);

/// Turns an object into the bytes of one event line (JSON, or a Table row).
pub type Encoder = Arc<dyn Fn(&str, &CachedObject) -> Bytes + Send + Sync>;

/// One item of a watch stream: an encoded line or an error to send as an ERROR event.
pub enum WatchItem {
    Line(Bytes),
    Error(RegistryError),
}

/// Where a watch starts.
pub enum WatchStart {
    /// Send the current state as ADDED events first.
    WithInitialState { end_bookmark: bool },
    /// Send every event after this revision.
    After(u64),
}

struct Filter {
    prefix: String,
    opts: ListOptions,
}

impl Filter {
    fn matches(&self, o: &CachedObject) -> bool {
        o.key.starts_with(&self.prefix)
            && self.opts.label_selector.matches(&o.labels)
            && self
                .opts
                .field_selector
                .matches(&o.fields, &o.name, &o.namespace)
    }

    fn is_trivial(&self) -> bool {
        self.opts.label_selector.is_empty() && self.opts.field_selector.is_empty()
    }
}

struct State {
    desc: &'static ResourceDescriptor,
    reader: CacheReader,
    filter: Filter,
    encoder: Option<Encoder>,
    queue: VecDeque<WatchItem>,
    events: broadcast::Receiver<Arc<WatchEvent>>,
    seen: u64,
    /// When the watch ends, and when its next bookmark is due (if it asked for them).
    /// The timers live as long as the watch: re-arming one per event would register and
    /// cancel two timers per watcher per event.
    deadline: Pin<Box<Sleep>>,
    bookmark: Option<Pin<Box<Sleep>>>,
    ended: bool,
}

/// Starts a watch of `prefix` (a namespace or all) on `reader`.
pub async fn watch(
    desc: &'static ResourceDescriptor,
    reader: CacheReader,
    prefix: String,
    opts: ListOptions,
    start: WatchStart,
    encoder: Option<Encoder>,
) -> impl Stream<Item = WatchItem> {
    let events = reader.subscribe();
    let timeout = opts
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WATCH_TIMEOUT);
    let bookmark = opts
        .allow_watch_bookmarks
        .then(|| Box::pin(tokio::time::sleep(BOOKMARK_INTERVAL)));
    let mut state = State {
        desc,
        reader: reader.clone(),
        filter: Filter { prefix, opts },
        encoder,
        queue: VecDeque::new(),
        events,
        seen: 0,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        bookmark,
        ended: false,
    };
    state.begin(start).await;
    futures::stream::unfold(state, |mut state| async move {
        state.next().await.map(|item| (item, state))
    })
}

impl State {
    async fn begin(&mut self, start: WatchStart) {
        match start {
            WatchStart::WithInitialState { end_bookmark } => {
                let (view, revision) = self.reader.current();
                let objects: Vec<_> = view
                    .range(&self.filter.prefix, None)
                    .filter(|o| self.filter.matches(o))
                    .cloned()
                    .collect();
                for object in objects {
                    let line = self.encode(EventType::Added.as_str(), &object);
                    self.queue.push_back(WatchItem::Line(line));
                }
                self.seen = view.revision;
                if end_bookmark {
                    self.queue
                        .push_back(WatchItem::Line(self.bookmark(revision, true)));
                }
            }
            WatchStart::After(revision) => self.replay_after(revision).await,
        }
    }

    async fn replay_after(&mut self, revision: u64) {
        if revision > self.reader.applied_revision()
            && self
                .reader
                .at_least(revision, FUTURE_REVISION_WAIT)
                .await
                .is_err()
        {
            {
                let message = format!(
                    "Too large resource version: {revision}, current: {}",
                    self.reader.applied_revision()
                );
                self.fail(RegistryError::Timeout {
                    message,
                    retry_after_seconds: 1,
                });
                return;
            }
        }
        let (view, _) = self.reader.current();
        match view.events_after(revision) {
            Some(events) => {
                for event in events {
                    self.offer(&event);
                }
                self.seen = view.revision;
            }
            None => self.fail(too_old(revision, &view)),
        }
    }

    fn fail(&mut self, error: RegistryError) {
        self.queue.push_back(WatchItem::Error(error));
        self.ended = true;
    }

    fn encode(&self, event_type: &str, object: &CachedObject) -> Bytes {
        match &self.encoder {
            Some(encode) => encode(event_type, object),
            None => encode_line(event_type, &object.json),
        }
    }

    /// Queues what this watcher sees of `event`, if anything.
    fn offer(&mut self, event: &WatchEvent) {
        let line = if self.filter.is_trivial() {
            if !event.object.key.starts_with(&self.filter.prefix) {
                return;
            }
            match &self.encoder {
                None => event.line.clone(),
                Some(_) => self.encode(event.event_type.as_str(), &event.object),
            }
        } else {
            let now = event.event_type != EventType::Deleted && self.filter.matches(&event.object);
            let before = event
                .prev
                .as_deref()
                .is_some_and(|p| self.filter.matches(p));
            match (event.event_type, now, before) {
                (EventType::Deleted, _, true) => self.encode("DELETED", &event.object),
                (EventType::Added | EventType::Modified, true, false) => {
                    self.encode("ADDED", &event.object)
                }
                (EventType::Modified, true, true) => self.encode("MODIFIED", &event.object),
                // The object left the selection: it is gone for this watcher.
                (EventType::Modified, false, true) => match left_selection(self.desc, event) {
                    Some(object) => self.encode("DELETED", &object),
                    None => return,
                },
                _ => return,
            }
        };
        self.queue.push_back(WatchItem::Line(line));
    }

    fn bookmark(&self, revision: u64, initial_events_end: bool) -> Bytes {
        let mut metadata =
            serde_json::json!({"resourceVersion": revision.to_string(), "creationTimestamp": null});
        if initial_events_end {
            metadata["annotations"] = serde_json::json!({"k8s.io/initial-events-end": "true"});
        }
        let object = serde_json::json!({"kind": self.desc.kind, "apiVersion": self.desc.api_version(), "metadata": metadata});
        // A watch in another representation (Table, PartialObjectMetadata) gets its
        // bookmarks in that representation too, as upstream converts every event: a
        // metadata informer cannot decode the kind's own object.
        match (
            &self.encoder,
            CachedObject::from_value(self.desc, "", revision, &object),
        ) {
            (Some(encode), Ok(bookmark)) => encode("BOOKMARK", &bookmark),
            _ => encode_line("BOOKMARK", object.to_string().as_bytes()),
        }
    }

    /// Drains pending events, then sends a bookmark at a revision they all precede.
    fn take_bookmark(&mut self) {
        let applied = self.reader.applied_revision();
        while let Ok(event) = self.events.try_recv() {
            if event.revision > self.seen {
                self.seen = event.revision;
                self.offer(&event);
            }
        }
        let line = self.bookmark(applied.max(self.seen), false);
        self.queue.push_back(WatchItem::Line(line));
    }

    async fn next(&mut self) -> Option<WatchItem> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            let bookmark_timer = &mut self.bookmark;
            let bookmark_due = async move {
                match bookmark_timer.as_mut() {
                    Some(timer) => timer.as_mut().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.deadline.as_mut() => return None,
                _ = bookmark_due => {
                    self.take_bookmark();
                    if let Some(timer) = self.bookmark.as_mut() {
                        timer.as_mut().reset(Instant::now() + BOOKMARK_INTERVAL);
                    }
                }
                received = self.events.recv() => match received {
                    Ok(event) if event.revision > self.seen => {
                        self.seen = event.revision;
                        self.offer(&event);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        let message = format!("watch of {} fell behind the event stream; restart it from resourceVersion {}", self.desc.resource, self.seen);
                        self.fail(RegistryError::expired(message));
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

fn too_old(revision: u64, view: &KindView) -> RegistryError {
    RegistryError::expired(format!(
        "too old resource version: {revision} ({})",
        view.history_start + 1
    ))
}

/// The previous state of an object that no longer matches, stamped with the event's
/// revision (as upstream does for such synthetic deletes).
fn left_selection(desc: &ResourceDescriptor, event: &WatchEvent) -> Option<CachedObject> {
    let prev = event.prev.as_ref()?;
    let mut value = prev.decode();
    object::set_resource_version(&mut value, event.revision);
    CachedObject::from_value(desc, &prev.key, event.revision, &value).ok()
}
