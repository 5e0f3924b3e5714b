//! Query and path parameters of the API operations: which ones each operation takes,
//! their types, and our one-line description of each (the names and types are what
//! clients key on; kubectl looks for `fieldValidation` on a kind's PATCH).

/// Where a parameter goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum In {
    Path,
    Query,
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub location: In,
    /// `string`, `integer` or `boolean`.
    pub ty: &'static str,
    pub description: String,
}

/// The query parameters of the list and watch operations.
pub(crate) const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
pub(crate) const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
pub(crate) const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
pub(crate) const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];
pub(crate) const DELETE_COLLECTION_PARAMS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];

/// A query parameter by name, with its type and our description of it.
pub(crate) fn query(name: &'static str) -> Param {
    let (ty, description) = match name {
        "allowWatchBookmarks" => ("boolean", "Ask for BOOKMARK events on a watch; ignored otherwise."),
        "continue" => ("string", "The continue token of the previous page of a paginated list."),
        "dryRun" => ("string", "When present, the request is validated but not persisted. The only valid value is All."),
        "fieldManager" => ("string", "Name of the actor making the change, recorded in managedFields (at most 128 printable characters)."),
        "fieldSelector" => ("string", "Restrict the objects to those whose fields match this selector. Defaults to everything."),
        "fieldValidation" => ("string", "How to treat fields of the request body the schema does not know, or duplicated: Ignore drops them silently, Warn drops them with a warning header each, Strict fails the request with BadRequest."),
        "force" => ("boolean", "Re-acquire fields owned by other managers on an apply patch; must be unset for other patch types."),
        "gracePeriodSeconds" => ("integer", "Seconds before the object is deleted; zero deletes immediately, unset uses the kind's default."),
        "ignoreStoreReadErrorWithClusterBreakingPotential" => ("boolean", "Delete an object that cannot be read from storage (unsafe; needs the unsafe-delete-ignore-read-errors verb)."),
        "labelSelector" => ("string", "Restrict the objects to those whose labels match this selector. Defaults to everything."),
        "limit" => ("integer", "The most objects to return in one page of a list; more pages are fetched with the continue token."),
        "orphanDependents" => ("boolean", "Deprecated, use propagationPolicy: whether dependents are orphaned."),
        "pretty" => ("string", "If 'true', the output is pretty printed."),
        "propagationPolicy" => ("string", "How dependents are garbage collected: Orphan, Background or Foreground."),
        "resourceVersion" => ("string", "Which resource version a read may be served from; see the API concepts documentation. Defaults to unset."),
        "resourceVersionMatch" => ("string", "How resourceVersion applies to a list: Exact or NotOlderThan. Defaults to unset."),
        "sendInitialEvents" => ("boolean", "On a watch with resourceVersionMatch=NotOlderThan, start with synthetic ADDED events for the current objects, ended by a bookmark."),
        "timeoutSeconds" => ("integer", "Limit the duration of a list or watch call, whatever its activity."),
        "watch" => ("boolean", "Watch for changes to the described resources instead of listing them."),
        _ => ("string", ""),
    };
    Param {
        name,
        location: In::Query,
        ty,
        description: description.to_string(),
    }
}

pub(crate) fn queries(names: &[&'static str]) -> Vec<Param> {
    names.iter().map(|n| query(n)).collect()
}

pub(crate) fn path_param(name: &'static str, description: String) -> Param {
    Param {
        name,
        location: In::Path,
        ty: "string",
        description,
    }
}
