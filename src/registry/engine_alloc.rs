//! The engine's part in Service allocation: a Service write carries the creation of the
//! allocation records of the cluster IP and node ports it takes, and the release of those
//! it gives up, in the same all-or-nothing batch (see `registry::allocator`). A record
//! another replica created first refuses the whole batch; the write then picks again,
//! or, for an address the client named, answers upstream's 422.

use keelson_proto::{Command, CommandResult};
use serde_json::{json, Value};

use super::Engine;
use crate::registry::allocator::{self, Held, Requested};
use crate::registry::cache::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::error::RegistryError;
use crate::registry::{hooks, object};

/// How often a create picks again after losing a race for an address.
const ATTEMPTS: usize = 8;

/// Whether writes of this kind allocate (Services).
pub fn allocates(desc: &ResourceDescriptor) -> bool {
    desc.group.is_empty() && desc.resource == "services"
}

/// What every Service but the one at `except_key` holds, from the cache.
fn held_by_others(view: &KindView, except_key: &str) -> Held {
    let mut held = Held::default();
    for (key, cached) in view.objects.iter() {
        if key != except_key {
            held.extend(Held::of(&cached.decode()));
        }
    }
    held
}

fn seed() -> u32 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff_ffff) as u32
}

/// The extra commands of one Service write and the records it claims.
#[derive(Default)]
pub struct Allocation {
    pub commands: Vec<Command>,
    pub claims: Vec<String>,
}

impl Allocation {
    /// Which claims of this write lost their race, from the batch's results (the write's
    /// own command first).
    pub fn lost(&self, results: &[CommandResult]) -> Held {
        let lost = self
            .claims
            .iter()
            .zip(results.iter().skip(1))
            .filter(|(_, r)| matches!(r, CommandResult::AlreadyExists))
            .map(|(k, _)| k.as_str());
        Held::from_keys(lost)
    }
}

fn claim_commands(claims: &Held, owner: &Value) -> Allocation {
    let record = json!({
        "namespace": object::namespace(owner),
        "name": object::name(owner),
        "uid": object::uid(owner),
    });
    let value = serde_json::to_vec(&record).unwrap_or_default();
    let claims = claims.keys();
    let commands = claims
        .iter()
        .map(|key| Command::Create {
            key: key.clone(),
            value: value.clone(),
        })
        .collect();
    Allocation { commands, claims }
}

/// The releases of everything `service` holds (its deletion).
pub fn releases(desc: &ResourceDescriptor, service: &Value) -> Vec<Command> {
    if !allocates(desc) {
        return Vec::new();
    }
    Held::of(service)
        .keys()
        .into_iter()
        .map(|key| Command::Release { key })
        .collect()
}

impl Engine {
    /// Plans `service`'s addresses against what other Services hold (and what this
    /// write already lost), mapping a refusal to upstream's errors.
    fn plan_service(
        &self,
        service: &mut Value,
        old: Option<&Value>,
        key: &str,
        lost: &Held,
    ) -> Result<Allocation, RegistryError> {
        let (view, _) = self.reader.current();
        let mut taken = held_by_others(&view, key);
        taken.extend(lost.clone());
        let plan = allocator::plan(allocator::ranges(), service, old, &taken, seed()).map_err(
            |e| match e {
                Requested::Invalid(causes) => {
                    hooks::invalid(self.desc, object::name(service), causes)
                }
                Requested::Full(message) => RegistryError::internal(message),
            },
        )?;
        let mut allocation = claim_commands(&plan.claims, service);
        allocation.commands.extend(
            plan.releases
                .keys()
                .into_iter()
                .map(|key| Command::Release { key }),
        );
        Ok(allocation)
    }

    /// Creates a Service and the records of what it takes, in one batch.
    pub(super) async fn create_allocated(
        &self,
        key: String,
        obj: Value,
    ) -> Result<Value, RegistryError> {
        let name = object::name(&obj).to_string();
        let mut lost = Held::default();
        for _ in 0..ATTEMPTS {
            let mut service = obj.clone();
            let allocation = self.plan_service(&mut service, None, &key, &lost)?;
            let value = serde_json::to_vec(&service).map_err(RegistryError::internal)?;
            let create = Command::Create {
                key: key.clone(),
                value,
            };
            // `propose_with` also serves dry runs, which store and claim nothing.
            let results = self
                .propose_with(create, allocation.commands.clone())
                .await?;
            match results.first() {
                Some(CommandResult::Stored { .. }) if self.is_dry_run() => return Ok(service),
                Some(CommandResult::Stored { revision }) => {
                    object::set_resource_version(&mut service, *revision);
                    return Ok(service);
                }
                Some(CommandResult::AlreadyExists) => return Err(self.already_exists(&name)),
                Some(CommandResult::Aborted) => lost.extend(allocation.lost(&results)),
                other => {
                    return Err(RegistryError::internal(format!(
                        "unexpected result of a create: {other:?}"
                    )))
                }
            }
        }
        Err(RegistryError::internal(
            "failed to allocate the service's addresses: too many concurrent allocations",
        ))
    }

    /// The extra commands of an update of a Service to `new` (its removal when
    /// `finished`), filling in what it newly takes.
    pub(super) fn allocation_for_update(
        &self,
        key: &str,
        old: &Value,
        new: &mut Value,
        finished: bool,
        lost: &Held,
    ) -> Result<Allocation, RegistryError> {
        if !allocates(self.desc) {
            return Ok(Allocation::default());
        }
        if finished {
            return Ok(Allocation {
                commands: releases(self.desc, old),
                claims: Vec::new(),
            });
        }
        self.plan_service(new, Some(old), key, lost)
    }
}
