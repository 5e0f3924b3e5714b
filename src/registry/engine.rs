//! The generic engine: get, list, watch, create, update and delete for any kind, driven
//! by the kind's descriptor and strategy.
//!
//! Reads come from the kind's published view; writes run the pure hook sequence, then
//! propose one batch to Raft with the revision they were based on as precondition. A
//! conflict caused by a concurrent writer is retried against a fresh view when the client
//! gave no resourceVersion of its own, as upstream's `GuaranteedUpdate` does.

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use keelson_proto::{Batch, Command, CommandResult, Precondition};
use serde_json::Value;

use super::allocator::Held;
use super::cache::{CacheReader, CachedObject, KindView, ReadError};
use super::descriptor::ResourceDescriptor;
use super::error::{RegistryError, Subject};
use super::hooks::{self, Stamp, UpdatePlan};
use super::list::{page, ContinueToken, ListOptions, Page, ReadAt, CONTINUE_EXPIRED};
use super::object::{self, list_prefix, storage_key};
use super::propagation::Propagation;
use super::watch::{self, Encoder, WatchItem, WatchStart};
use crate::consensus::Consensus;
use alloc::{allocates, releases, Allocation};

#[path = "engine_alloc.rs"]
mod alloc;

/// How long a read waits for the cache to reach a revision it must reflect.
pub const READ_WAIT: Duration = Duration::from_secs(10);
const UPDATE_ATTEMPTS: usize = 8;
/// Upstream's 410 message for a list at a revision no longer retained.
const LIST_TOO_OLD: &str = "The resourceVersion for the provided list is too old.";

pub struct Engine {
    pub desc: &'static ResourceDescriptor,
    reader: CacheReader,
    consensus: Consensus,
    /// `dryRun=All`: every step runs, but the proposal is answered from the cache and
    /// nothing reaches Raft (see `dry_run.rs`). Set per request by [`Engine::dry_run`].
    dry_run: bool,
}

/// Preconditions and options of a delete (upstream's DeleteOptions).
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    /// What to do with dependents; `None` keeps the object's GC finalizers as they are
    /// (upstream's default for the kinds served: background).
    pub propagation: Option<Propagation>,
}

/// What a delete did.
pub enum Deleted {
    /// The object is gone; this was its last state.
    Now(Value),
    /// The object is terminating (finalizers pending); this is its new state.
    Pending(Value),
}

impl Engine {
    pub fn new(
        desc: &'static ResourceDescriptor,
        reader: CacheReader,
        consensus: Consensus,
    ) -> Self {
        Self {
            desc,
            reader,
            consensus,
            dry_run: false,
        }
    }

    /// The same engine for a dry run: its writes are checked in full and stored nowhere.
    pub fn dry_run(&self) -> Engine {
        Self {
            desc: self.desc,
            reader: self.reader.clone(),
            consensus: self.consensus.clone(),
            dry_run: true,
        }
    }

    /// Whether this engine's writes are dry runs.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub fn reader(&self) -> &CacheReader {
        &self.reader
    }

    fn subject(&self, name: &str) -> Subject {
        Subject {
            group: self.desc.group.into(),
            kind: self.desc.resource.into(),
            name: name.into(),
        }
    }

    pub fn not_found(&self, name: &str) -> RegistryError {
        let message = format!("{} \"{name}\" not found", self.desc.qualified_resource());
        RegistryError::NotFound {
            subject: self.subject(name),
            message,
        }
    }

    fn read_error(&self, e: ReadError, revision: u64) -> RegistryError {
        match e {
            ReadError::TooOld => {
                RegistryError::expired(format!("too old resource version: {revision}"))
            }
            ReadError::TooNew { current } => RegistryError::Timeout {
                message: format!("Too large resource version: {revision}, current: {current}"),
                retry_after_seconds: 1,
            },
        }
    }

    /// The view a read at `at` is served from, and the revision it reports.
    async fn view(&self, at: ReadAt) -> Result<(Arc<KindView>, u64), RegistryError> {
        let wait = |revision| async move {
            self.reader
                .at_least(revision, READ_WAIT)
                .await
                .map_err(|e| self.read_error(e, revision))
        };
        match at {
            ReadAt::Any => Ok(self.reader.current()),
            ReadAt::Latest => wait(self.consensus.linearizable_revision().await?).await,
            ReadAt::NotOlderThan(revision) => wait(revision).await,
            ReadAt::Exact(revision) => match self.reader.exact(revision) {
                Ok(view) => Ok((view, revision)),
                Err(ReadError::TooOld) => Err(RegistryError::expired(LIST_TOO_OLD)),
                Err(e) => Err(self.read_error(e, revision)),
            },
        }
    }

    pub async fn get(
        &self,
        namespace: &str,
        name: &str,
        at: ReadAt,
    ) -> Result<Arc<CachedObject>, RegistryError> {
        let (view, _) = self.view(at).await?;
        let key = storage_key(self.desc.storage_prefix, namespace, name);
        view.objects
            .get(&key)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    pub async fn list(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Page, RegistryError> {
        let prefix = list_prefix(self.desc.storage_prefix, namespace);
        if let Some(token) = &opts.continue_token {
            let token = ContinueToken::decode(token)?;
            let view = self
                .reader
                .exact(token.rv)
                .map_err(|_| RegistryError::expired(CONTINUE_EXPIRED))?;
            return Ok(page(&view, token.rv, &prefix, Some(&token.start), opts));
        }
        let (view, revision) = self.view(opts.read_at()?).await?;
        let page = page(&view, revision, &prefix, None, opts);
        if page.continue_token.is_some() {
            self.reader.pin(revision, view);
        }
        Ok(page)
    }

    pub async fn watch(
        &self,
        namespace: Option<&str>,
        opts: ListOptions,
        encoder: Option<Encoder>,
    ) -> Result<impl Stream<Item = WatchItem>, RegistryError> {
        let rv = opts
            .resource_version
            .clone()
            .filter(|rv| !rv.is_empty() && rv != "0");
        // Upstream: sendInitialEvents sends the state first; otherwise a resourceVersion
        // ("0" aside) resumes after it, and none starts with the current state.
        let start = if opts.send_initial_events == Some(true) {
            WatchStart::WithInitialState {
                end_bookmark: opts.allow_watch_bookmarks,
            }
        } else if let Some(rv) = rv {
            WatchStart::After(super::list::parse_revision(&rv)?)
        } else {
            WatchStart::WithInitialState {
                end_bookmark: false,
            }
        };
        let prefix = list_prefix(self.desc.storage_prefix, namespace);
        Ok(watch::watch(self.desc, self.reader.clone(), prefix, opts, start, encoder).await)
    }

    async fn propose_one(&self, command: Command) -> Result<CommandResult, RegistryError> {
        if self.dry_run {
            let (view, _) = self.view(ReadAt::Latest).await?;
            return Ok(super::dry_run::simulate(&view, &command));
        }
        let mut result = self.consensus.propose(Batch::single(command)).await?;
        result
            .results
            .pop()
            .ok_or_else(|| RegistryError::internal("the state machine returned no result"))
    }

    /// Proposes `command` with `extra` (allocation records) in one all-or-nothing batch;
    /// returns every result, `command`'s first.
    pub(super) async fn propose_with(
        &self,
        command: Command,
        extra: Vec<Command>,
    ) -> Result<Vec<CommandResult>, RegistryError> {
        if extra.is_empty() || self.dry_run {
            // A dry run claims nothing: its allocation records are taken as granted.
            let granted = extra.iter().map(|_| CommandResult::Stored { revision: 0 });
            let first = self.propose_one(command).await?;
            return Ok(std::iter::once(first).chain(granted).collect());
        }
        let mut commands = vec![command];
        commands.extend(extra);
        let results = self.consensus.propose(Batch { commands }).await?.results;
        if results.is_empty() {
            return Err(RegistryError::internal(
                "the state machine returned no result",
            ));
        }
        Ok(results)
    }

    fn already_exists(&self, name: &str) -> RegistryError {
        let message = format!(
            "{} \"{name}\" already exists",
            self.desc.qualified_resource()
        );
        RegistryError::AlreadyExists {
            subject: self.subject(name),
            message,
        }
    }

    /// Creates `obj` in `namespace` (empty for cluster-scoped kinds).
    pub async fn create(&self, namespace: &str, obj: Value) -> Result<Value, RegistryError> {
        let mut obj = hooks::prepare_create(self.desc, obj, namespace, &Stamp::new())?;
        let name = object::name(&obj).to_string();
        let key = storage_key(self.desc.storage_prefix, namespace, &name);
        if allocates(self.desc) {
            return self.create_allocated(key, obj).await;
        }
        let value = serde_json::to_vec(&obj).map_err(RegistryError::internal)?;
        match self.propose_one(Command::Create { key, value }).await? {
            // A dry-run create stores nothing, so it has no resourceVersion (upstream).
            CommandResult::Stored { .. } if self.dry_run => Ok(obj),
            CommandResult::Stored { revision } => {
                object::set_resource_version(&mut obj, revision);
                Ok(obj)
            }
            CommandResult::AlreadyExists => Err(self.already_exists(&name)),
            other => Err(RegistryError::internal(format!(
                "unexpected result of a create: {other:?}"
            ))),
        }
    }

    /// Replaces the object (or, with `status_only`, its status) with `obj`.
    pub async fn update(
        &self,
        namespace: &str,
        name: &str,
        obj: Value,
        status_only: bool,
    ) -> Result<Value, RegistryError> {
        let client_pinned =
            object::meta_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty());
        self.update_with(namespace, name, status_only, client_pinned, |_| {
            Ok(obj.clone())
        })
        .await
    }

    /// Updates the object to what `change` makes of its current state (patches), retrying
    /// on conflicts with concurrent writers unless the new object names its own
    /// resourceVersion.
    pub async fn update_with(
        &self,
        namespace: &str,
        name: &str,
        status_only: bool,
        client_pinned: bool,
        change: impl Fn(&Value) -> Result<Value, RegistryError>,
    ) -> Result<Value, RegistryError> {
        let key = storage_key(self.desc.storage_prefix, namespace, name);
        let mut at = ReadAt::Any;
        // Addresses this update lost to concurrent Service writes.
        let mut lost = Held::default();
        for _ in 0..UPDATE_ATTEMPTS {
            let read_locally = at == ReadAt::Any;
            let planned = async {
                let current = self.get(namespace, name, at.clone()).await?;
                let old = current.decode();
                let plan = hooks::prepare_update(
                    self.desc,
                    change(&old)?,
                    &old,
                    current.revision,
                    namespace,
                    status_only,
                )?;
                Ok::<_, RegistryError>((current, old, plan))
            }
            .await;
            let (current, old, plan) = match planned {
                Ok(planned) => planned,
                // This replica's cache may be behind the cluster: an answer it alone
                // decided (not found, a stale resourceVersion) is confirmed at the
                // linearizable revision before the client hears it.
                Err(e) if read_locally && e.may_be_stale() => {
                    at = ReadAt::Latest;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (finished, mut result_obj) = match plan {
                UpdatePlan::Unchanged => return Ok(old),
                UpdatePlan::Write(new) => (false, new),
                UpdatePlan::Delete(new) => (true, new),
            };
            let precondition = Precondition::at_revision(current.revision);
            let allocation =
                self.allocation_for_update(&key, &old, &mut result_obj, finished, &lost)?;
            let command = write_command(&key, &result_obj, finished, precondition)?;
            match self.propose_write(name, command, &allocation).await? {
                Written::At(revision) => {
                    object::set_resource_version(&mut result_obj, revision);
                    return Ok(result_obj);
                }
                Written::Conflict(revision) if !client_pinned => {
                    at = ReadAt::NotOlderThan(revision)
                }
                Written::Lost(held) => lost.extend(held),
                Written::Conflict(_) | Written::GiveUp => break,
            }
        }
        Err(RegistryError::Conflict {
            subject: self.subject(name),
            message: hooks::conflict_message(self.desc, name),
        })
    }

    /// Stores what `change` makes of the current object, without the kind's update hooks:
    /// for the server's own controllers changing what clients may not (the namespace
    /// controller's `kubernetes` finalizer, which upstream changes through the `finalize`
    /// subresource). A terminating object left with no finalizers is deleted.
    pub async fn update_owned_fields(
        &self,
        namespace: &str,
        name: &str,
        change: impl Fn(&mut Value),
    ) -> Result<Value, RegistryError> {
        let key = storage_key(self.desc.storage_prefix, namespace, name);
        let mut at = ReadAt::Latest;
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get(namespace, name, at.clone()).await?;
            let old = current.decode();
            let mut new = old.clone();
            change(&mut new);
            if new == old {
                return Ok(old);
            }
            let finished = hooks::deletion_finished(self.desc, &new);
            let precondition = Precondition::at_revision(current.revision);
            let command = write_command(&key, &new, finished, precondition)?;
            // The server's own writes change no addresses; a finished deletion frees them.
            let allocation = Allocation {
                commands: if finished {
                    releases(self.desc, &new)
                } else {
                    Vec::new()
                },
                ..Allocation::default()
            };
            match self.propose_write(name, command, &allocation).await? {
                Written::At(revision) => {
                    object::set_resource_version(&mut new, revision);
                    return Ok(new);
                }
                Written::Conflict(revision) => at = ReadAt::NotOlderThan(revision),
                Written::Lost(_) | Written::GiveUp => break,
            }
        }
        Err(RegistryError::Conflict {
            subject: self.subject(name),
            message: hooks::conflict_message(self.desc, name),
        })
    }

    /// Deletes the object, or marks it terminating when finalizers must run first.
    pub async fn delete(
        &self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, RegistryError> {
        let key = storage_key(self.desc.storage_prefix, namespace, name);
        let mut at = ReadAt::Any;
        for _ in 0..UPDATE_ATTEMPTS {
            let read_locally = at == ReadAt::Any;
            let checked = async {
                let current = self.get(namespace, name, at.clone()).await?;
                self.check_delete_preconditions(&current.decode(), current.revision, opts)?;
                Ok::<_, RegistryError>(current)
            }
            .await;
            let current = match checked {
                Ok(current) => current,
                // As in updates: a local "not found" or failed precondition is
                // confirmed at the linearizable revision first.
                Err(e) if read_locally && e.may_be_stale() => {
                    at = ReadAt::Latest;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut obj = current.decode();
            let precondition = Precondition::at_revision(current.revision);
            // Orphan and foreground deletion are finalizers the garbage collector removes.
            let gc_changed = opts
                .propagation
                .is_some_and(|p| p.apply_finalizers(&mut obj));
            let graceful = !object::finalizers(&obj).is_empty()
                || self.desc.strategy.finalization_pending(&obj);
            let deleting = object::is_deleting(&obj);
            if deleting && graceful && !gc_changed {
                return Ok(Deleted::Pending(obj));
            }
            // The kind's own terminating state (a namespace's Terminating phase) is set
            // whether or not finalizers already make this delete graceful.
            let begins = self.desc.strategy.begin_graceful_delete(&mut obj);
            let command = if graceful || begins {
                if !deleting {
                    object::set_meta(
                        &mut obj,
                        "deletionTimestamp",
                        Value::String(object::now_rfc3339()),
                    );
                    object::set_meta(&mut obj, "deletionGracePeriodSeconds", Value::from(0));
                }
                Command::Update {
                    key: key.clone(),
                    value: stored_bytes(&obj)?,
                    precondition,
                }
            } else {
                Command::Delete {
                    key: key.clone(),
                    precondition,
                }
            };
            let extra = match command {
                Command::Delete { .. } => releases(self.desc, &obj),
                _ => Vec::new(),
            };
            let first = self.propose_with(command, extra).await?.swap_remove(0);
            match first {
                CommandResult::Stored { revision } => {
                    object::set_resource_version(&mut obj, revision);
                    return Ok(Deleted::Pending(obj));
                }
                CommandResult::Deleted { revision, .. } => {
                    object::set_resource_version(&mut obj, revision);
                    return Ok(Deleted::Now(obj));
                }
                CommandResult::NotFound => return Err(self.not_found(name)),
                CommandResult::Conflict { revision } => at = ReadAt::NotOlderThan(revision),
                CommandResult::AlreadyExists | CommandResult::Aborted => break,
            }
        }
        Err(RegistryError::Conflict {
            subject: self.subject(name),
            message: hooks::conflict_message(self.desc, name),
        })
    }

    /// Proposes one write of the object `name`, with its allocation records, and says
    /// what came of it.
    async fn propose_write(
        &self,
        name: &str,
        command: Command,
        allocation: &Allocation,
    ) -> Result<Written, RegistryError> {
        let results = self
            .propose_with(command, allocation.commands.clone())
            .await?;
        Ok(match &results[0] {
            CommandResult::Stored { revision } | CommandResult::Deleted { revision, .. } => {
                Written::At(*revision)
            }
            CommandResult::NotFound => return Err(self.not_found(name)),
            CommandResult::Conflict { revision } => Written::Conflict(*revision),
            CommandResult::Aborted => Written::Lost(allocation.lost(&results)),
            CommandResult::AlreadyExists => Written::GiveUp,
        })
    }

    fn check_delete_preconditions(
        &self,
        obj: &Value,
        revision: u64,
        opts: &DeleteOptions,
    ) -> Result<(), RegistryError> {
        let conflict = |message: String| RegistryError::Conflict {
            subject: self.subject(object::name(obj)),
            message,
        };
        if let Some(uid) = opts.uid.as_deref().filter(|u| *u != object::uid(obj)) {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                object::uid(obj)
            )));
        }
        if let Some(rv) = opts
            .resource_version
            .as_deref()
            .filter(|rv| *rv != revision.to_string())
        {
            return Err(conflict(format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {revision}")));
        }
        Ok(())
    }

    /// Deletes every object of a list (in a namespace or all), returning what was deleted.
    pub async fn delete_collection(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Vec<Value>, RegistryError> {
        let listed = self
            .list(
                namespace,
                &ListOptions {
                    limit: None,
                    continue_token: None,
                    ..opts.clone()
                },
            )
            .await?;
        let mut deleted = Vec::new();
        for item in listed.items {
            match self
                .delete(&item.namespace, &item.name, &DeleteOptions::default())
                .await
            {
                Ok(Deleted::Now(obj) | Deleted::Pending(obj)) => deleted.push(obj),
                Err(RegistryError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }
}

/// What proposing one write came to.
enum Written {
    /// Stored (or deleted) at this revision.
    At(u64),
    /// Another write changed the object first, at this revision.
    Conflict(u64),
    /// Addresses the write claimed were taken first by another Service write.
    Lost(Held),
    /// Nothing a retry could fix.
    GiveUp,
}

/// The command that replaces the object at `key` with `new`, or removes it when its
/// deletion is `finished` (no finalizers left).
fn write_command(
    key: &str,
    new: &Value,
    finished: bool,
    precondition: Precondition,
) -> Result<Command, RegistryError> {
    let key = key.to_string();
    Ok(if finished {
        Command::Delete { key, precondition }
    } else {
        Command::Update {
            key,
            value: stored_bytes(new)?,
            precondition,
        }
    })
}

/// The bytes stored for an object: its JSON without resourceVersion, which storage keeps
/// beside it.
fn stored_bytes(obj: &Value) -> Result<Vec<u8>, RegistryError> {
    let mut obj = obj.clone();
    object::remove_meta(&mut obj, "resourceVersion");
    serde_json::to_vec(&obj).map_err(RegistryError::internal)
}
