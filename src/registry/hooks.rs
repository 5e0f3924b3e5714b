//! The hook order for create and update, as one pure function each.
//!
//! Everything non-deterministic (uid, time, generated name suffix) comes in through
//! [`Stamp`], so these functions do no I/O and the same input always gives the same
//! output; the engine calls them and then proposes the result. The order follows
//! upstream's `BeforeCreate`/`BeforeUpdate`: scope and namespace, system metadata, the
//! kind's prepare hook, status/spec split, generation, validation, canonicalisation.

use serde_json::Value;

use super::descriptor::ResourceDescriptor;
use super::error::{FieldError, RegistryError, Subject};
use super::object;
use super::validation;

/// The non-deterministic parts of a write, fixed before the hooks run.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub uid: String,
    pub now: String,
    /// Five characters for `generateName`.
    pub name_suffix: String,
}

impl Stamp {
    pub fn new() -> Self {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let uid = uuid::Uuid::new_v4();
        let suffix = uid.as_bytes()[..5]
            .iter()
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect();
        Self {
            uid: uid.to_string(),
            now: object::now_rfc3339(),
            name_suffix: suffix,
        }
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Self::new()
    }
}

/// What an update turns into.
#[derive(Debug, PartialEq)]
pub enum UpdatePlan {
    /// Nothing changed: answer with the stored object, write nothing.
    Unchanged,
    Write(Value),
    /// The last finalizer of a deleting object was removed: delete it.
    Delete(Value),
}

fn check_namespace(
    desc: &ResourceDescriptor,
    obj: &mut Value,
    url_namespace: &str,
) -> Result<(), RegistryError> {
    if !desc.namespaced {
        object::remove_meta(obj, "namespace");
        return Ok(());
    }
    let body_namespace = object::namespace(obj);
    if body_namespace.is_empty() {
        object::set_meta(obj, "namespace", Value::String(url_namespace.to_string()));
    } else if body_namespace != url_namespace {
        return Err(RegistryError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// Prepares a new object for storage (upstream's `BeforeCreate`).
pub fn prepare_create(
    desc: &ResourceDescriptor,
    mut obj: Value,
    url_namespace: &str,
    stamp: &Stamp,
) -> Result<Value, RegistryError> {
    check_namespace(desc, &mut obj, url_namespace)?;
    if object::name(&obj).is_empty() {
        if let Some(prefix) = object::meta_str(&obj, "generateName").filter(|p| !p.is_empty()) {
            let generated = format!("{prefix}{}", stamp.name_suffix);
            object::set_meta(&mut obj, "name", Value::String(generated));
        }
    }
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        object::remove_meta(&mut obj, field);
    }
    object::set_meta(&mut obj, "uid", Value::String(stamp.uid.clone()));
    object::set_meta(
        &mut obj,
        "creationTimestamp",
        Value::String(stamp.now.clone()),
    );
    if desc.strategy.tracks_generation() {
        object::set_meta(&mut obj, "generation", Value::from(1));
    } else {
        object::remove_meta(&mut obj, "generation");
    }
    if desc.status {
        let status = desc.strategy.initial_status(&obj);
        set_status(&mut obj, status);
    }
    desc.strategy.prepare_for_create(&mut obj);
    let mut errs = validation::object_meta(&obj, desc.strategy.name_rule(), desc.namespaced);
    errs.extend(desc.strategy.validate(&obj));
    invalid_if_any(desc, &obj, errs)?;
    desc.strategy.canonicalize(&mut obj);
    Ok(obj)
}

/// Prepares an update of the main resource or (with `status_only`) of its status
/// (upstream's `BeforeUpdate`). `old_revision` is the stored object's revision.
pub fn prepare_update(
    desc: &ResourceDescriptor,
    mut new: Value,
    old: &Value,
    old_revision: u64,
    url_namespace: &str,
    status_only: bool,
) -> Result<UpdatePlan, RegistryError> {
    check_namespace(desc, &mut new, url_namespace)?;
    check_preconditions(desc, &new, old, old_revision)?;
    if status_only {
        let status = new.get_mut("status").map(Value::take);
        // The status write's manager is recorded in managedFields, kept from `new`.
        let managed = object::meta_mut(&mut new).remove("managedFields");
        new = old.clone();
        set_status(&mut new, status);
        match managed {
            Some(managed) => object::set_meta(&mut new, "managedFields", managed),
            None => object::remove_meta(&mut new, "managedFields"),
        }
    } else {
        copy_system_metadata(&mut new, old);
        if desc.status {
            set_status(&mut new, old.get("status").cloned());
        }
        desc.strategy.prepare_for_update(&mut new, old);
    }
    if desc.strategy.tracks_generation() {
        let generation = old
            .get("metadata")
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let bumped = if spec_changed(&new, old) {
            generation + 1
        } else {
            generation
        };
        object::set_meta(&mut new, "generation", Value::from(bumped));
    }
    let mut errs = validation::object_meta(&new, desc.strategy.name_rule(), desc.namespaced);
    errs.extend(desc.strategy.validate_update(&new, old));
    invalid_if_any(desc, &new, errs)?;
    desc.strategy.canonicalize(&mut new);
    object::set_resource_version(&mut new, old_revision);
    if &new == old {
        return Ok(UpdatePlan::Unchanged);
    }
    if deletion_finished(desc, &new) {
        return Ok(UpdatePlan::Delete(new));
    }
    Ok(UpdatePlan::Write(new))
}

/// Whether `obj` is terminating with nothing left to wait for: no finalizers, and no
/// finalization of the kind's own pending. Such an object is removed, not stored.
pub fn deletion_finished(desc: &ResourceDescriptor, obj: &Value) -> bool {
    object::is_deleting(obj)
        && object::finalizers(obj).is_empty()
        && !desc.strategy.finalization_pending(obj)
}

fn check_preconditions(
    desc: &ResourceDescriptor,
    new: &Value,
    old: &Value,
    old_revision: u64,
) -> Result<(), RegistryError> {
    let subject = || Subject {
        group: desc.group.into(),
        kind: desc.resource.into(),
        name: object::name(old).into(),
    };
    if let Some(rv) = object::meta_str(new, "resourceVersion").filter(|rv| !rv.is_empty()) {
        if rv != old_revision.to_string() {
            return Err(RegistryError::Conflict {
                subject: subject(),
                message: conflict_message(desc, object::name(old)),
            });
        }
    }
    let uid = object::uid(new);
    if !uid.is_empty() && uid != object::uid(old) {
        let message = format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
            object::uid(old)
        );
        return Err(RegistryError::Conflict {
            subject: subject(),
            message,
        });
    }
    Ok(())
}

/// Upstream's message for an update based on a stale resourceVersion.
pub fn conflict_message(desc: &ResourceDescriptor, name: &str) -> String {
    format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        desc.qualified_resource()
    )
}

fn copy_system_metadata(new: &mut Value, old: &Value) {
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match object::meta(old).and_then(|m| m.get(field)) {
            Some(value) => object::set_meta(new, field, value.clone()),
            None => object::remove_meta(new, field),
        }
    }
    object::remove_meta(new, "selfLink");
}

fn set_status(obj: &mut Value, status: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match status {
            Some(status) => map.insert("status".into(), status),
            None => map.remove("status"),
        };
    }
}

/// Whether anything outside metadata and status differs.
fn spec_changed(new: &Value, old: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.remove("metadata");
            map.remove("status");
        }
        v
    };
    strip(new) != strip(old)
}

fn invalid_if_any(
    desc: &ResourceDescriptor,
    obj: &Value,
    errs: Vec<FieldError>,
) -> Result<(), RegistryError> {
    if errs.is_empty() {
        return Ok(());
    }
    Err(invalid(desc, object::name(obj), errs))
}

/// Upstream's 422 message: `Kind "name" is invalid: field: message` (bracketed list if several).
pub fn invalid(desc: &ResourceDescriptor, name: &str, causes: Vec<FieldError>) -> RegistryError {
    let rendered: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let detail = if rendered.len() == 1 {
        rendered[0].clone()
    } else {
        format!("[{}]", rendered.join(", "))
    };
    RegistryError::Invalid {
        subject: Subject {
            group: desc.group.into(),
            kind: desc.kind.into(),
            name: name.into(),
        },
        message: format!("{} \"{name}\" is invalid: {detail}", desc.kind),
        causes,
    }
}

#[cfg(test)]
#[path = "hooks_tests.rs"]
mod tests;
