//! Dry runs (`dryRun=All`): the proposal step answered from the cache instead of Raft.
//!
//! A dry-run engine runs every step of a write as usual (hooks, validation, preconditions)
//! and only its proposal differs: [`simulate`] says what the state machine would answer
//! for the command against the current view, and nothing is stored. This is upstream's
//! `DryRunnableStorage`: a create finds AlreadyExists, an update or delete finds NotFound
//! or a failed precondition, and a stored write keeps the revision the object already had
//! (creates have none, so their answer carries no resourceVersion).

use keelson_proto::{Command, CommandResult, Precondition};

use super::cache::KindView;

/// What the state machine would answer for `command` applied to `view`.
pub fn simulate(view: &KindView, command: &Command) -> CommandResult {
    let current = view.objects.get(command.key());
    match (command, current) {
        // Allocation records live outside the kinds' views; their release never fails.
        (Command::Release { .. }, _) => CommandResult::Stored { revision: 0 },
        (Command::Create { .. }, Some(_)) => CommandResult::AlreadyExists,
        (Command::Create { .. }, None) => CommandResult::Stored { revision: 0 },
        (Command::Update { .. } | Command::Delete { .. }, None) => CommandResult::NotFound,
        (Command::Update { precondition, .. }, Some(obj)) => {
            if holds(precondition, obj.revision) {
                CommandResult::Stored {
                    revision: obj.revision,
                }
            } else {
                CommandResult::Conflict {
                    revision: obj.revision,
                }
            }
        }
        (Command::Delete { precondition, .. }, Some(obj)) => {
            if holds(precondition, obj.revision) {
                CommandResult::Deleted {
                    revision: obj.revision,
                    value: obj.json.to_vec(),
                }
            } else {
                CommandResult::Conflict {
                    revision: obj.revision,
                }
            }
        }
    }
}

fn holds(precondition: &Precondition, revision: u64) -> bool {
    precondition.revision.is_none_or(|r| r == revision)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::registry::cache::CachedObject;

    fn view_with(key: &str, revision: u64) -> KindView {
        let desc = crate::kinds::catalog()
            .into_iter()
            .find(|d| d.resource == "configmaps")
            .expect("configmaps are served");
        let obj = json!({"metadata": {"name": "a", "namespace": "ns"}});
        let cached = CachedObject::from_value(desc, key, revision, &obj).expect("cacheable");
        let mut view = KindView::default();
        view.objects.insert(key.to_string(), Arc::new(cached));
        view
    }

    #[test]
    fn create_finds_existing_key() {
        let view = view_with("/registry/configmaps/ns/a", 7);
        let create = |key: &str| Command::Create {
            key: key.into(),
            value: vec![],
        };
        assert_eq!(
            simulate(&view, &create("/registry/configmaps/ns/a")),
            CommandResult::AlreadyExists
        );
        assert_eq!(
            simulate(&view, &create("/registry/configmaps/ns/b")),
            CommandResult::Stored { revision: 0 }
        );
    }

    #[test]
    fn update_and_delete_check_preconditions() {
        let view = view_with("/registry/configmaps/ns/a", 7);
        let update = |revision| Command::Update {
            key: "/registry/configmaps/ns/a".into(),
            value: vec![],
            precondition: Precondition::at_revision(revision),
        };
        assert_eq!(
            simulate(&view, &update(7)),
            CommandResult::Stored { revision: 7 }
        );
        assert_eq!(
            simulate(&view, &update(6)),
            CommandResult::Conflict { revision: 7 }
        );
        let delete = Command::Delete {
            key: "/registry/configmaps/ns/b".into(),
            precondition: Precondition::none(),
        };
        assert_eq!(simulate(&view, &delete), CommandResult::NotFound);
        let delete = Command::Delete {
            key: "/registry/configmaps/ns/a".into(),
            precondition: Precondition::none(),
        };
        assert!(matches!(
            simulate(&view, &delete),
            CommandResult::Deleted { revision: 7, .. }
        ));
    }
}
