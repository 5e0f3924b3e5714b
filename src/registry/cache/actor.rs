//! The kind actor: the single writer of one kind's view.
//!
//! It receives the applied changes for its kind in revision order, builds the cached
//! form of each object once, publishes the new view atomically, and then broadcasts the
//! events to watchers. A watcher that falls behind the broadcast buffer is dropped (it
//! gets an error and re-watches) instead of growing memory.

use std::sync::Arc;

use actix::{Actor, Context, Handler, Message};

use super::event::{EventType, WatchEvent};
use super::object::CachedObject;
use super::reader::Shared;
use super::view::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::storage::Change;

/// How many unhandled steps a kind actor's mailbox holds before apply waits.
pub const MAILBOX_CAPACITY: usize = 256;

pub struct KindCache {
    desc: &'static ResourceDescriptor,
    shared: Arc<Shared>,
}

impl KindCache {
    pub fn new(desc: &'static ResourceDescriptor, shared: Arc<Shared>) -> Self {
        Self { desc, shared }
    }
}

impl Actor for KindCache {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

/// Changes to this kind from one apply step, in revision order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ApplyChanges {
    pub changes: Vec<Change>,
    pub revision: u64,
}

/// Replace the whole view (after a snapshot was installed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload {
    pub view: KindView,
}

/// Applies one change to `view`, returning the event it makes (none for a delete of an
/// unknown key or a value that does not decode, which is logged).
fn apply_change(
    desc: &ResourceDescriptor,
    view: &mut KindView,
    change: &Change,
) -> Option<Arc<WatchEvent>> {
    let prev = view.objects.get(&change.key).cloned();
    let built = match (&change.value, &prev) {
        (Some(value), _) => CachedObject::build(desc, &change.key, change.revision, value),
        (None, Some(prev)) => CachedObject::build(desc, &change.key, change.revision, &prev.json),
        (None, None) => CachedObject::build(
            desc,
            &change.key,
            change.revision,
            change.prev.as_deref().unwrap_or(b"{}"),
        ),
    };
    let object = match built {
        Ok(object) => Arc::new(object),
        Err(e) => {
            tracing::error!(key = %change.key, revision = change.revision, error = %e, "stored value does not decode; skipped");
            return None;
        }
    };
    let prev = prev.or_else(|| prev_from_history(desc, change));
    let event_type = EventType::of_write(change.value.is_none(), prev.is_some());
    match event_type {
        EventType::Deleted => view.objects.remove(&change.key),
        _ => view.objects.insert(change.key.clone(), object.clone()),
    };
    let event = Arc::new(WatchEvent::new(event_type, object, prev));
    view.history.push_back(event.clone());
    while view.history.len() > view.history_limit.max(1) {
        if let Some(dropped) = view.history.pop_front() {
            view.history_start = dropped.revision;
        }
    }
    view.revision = change.revision;
    Some(event)
}

/// The state before `change` when the view lacks it (it did not decode); the change
/// carries it.
fn prev_from_history(desc: &ResourceDescriptor, change: &Change) -> Option<Arc<CachedObject>> {
    let prev = change.prev.as_ref()?;
    CachedObject::build(desc, &change.key, 0, prev)
        .ok()
        .map(Arc::new)
}

impl Handler<ApplyChanges> for KindCache {
    type Result = ();

    fn handle(&mut self, msg: ApplyChanges, _ctx: &mut Context<Self>) {
        let span = tracing::trace_span!(
            "cache.apply",
            kind = self.desc.resource,
            changes = msg.changes.len()
        );
        let _entered = span.enter();
        let mut view = KindView::clone(&self.shared.view());
        let events: Vec<_> = msg
            .changes
            .iter()
            .filter_map(|c| apply_change(self.desc, &mut view, c))
            .collect();
        view.revision = view.revision.max(msg.revision);
        self.shared.publish(view);
        for event in events {
            // No receivers is normal: nobody watches this kind right now.
            let _ = self.shared.events.send(event);
        }
    }
}

impl Handler<Reload> for KindCache {
    type Result = ();

    fn handle(&mut self, msg: Reload, _ctx: &mut Context<Self>) {
        self.shared.publish(msg.view);
    }
}
