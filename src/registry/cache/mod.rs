//! Per-kind caches: one actor per kind owns its objects, recent events and watchers'
//! channel; readers share its published view without a mailbox round trip
//! (kube-rs's `Store`/`Writer` split, upstream's watch cache).

mod actor;
mod event;
mod load;
mod object;
pub mod reader;
mod retained;
mod view;

pub use actor::{ApplyChanges, KindCache, Reload};
pub use event::{encode_line, EventType, WatchEvent};
pub use load::load_view;
pub use object::CachedObject;
pub use reader::{CacheReader, ReadError, Shared};
pub use view::{KindView, HISTORY_PER_KIND};
