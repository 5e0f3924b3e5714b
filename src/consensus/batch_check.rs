//! All-or-nothing batches: before a batch of several commands is applied, each is checked
//! against the state before the batch; if any would fail, none is applied.
//!
//! This is what makes an allocation safe across replicas: a Service and the records of
//! the cluster IP and node ports it takes are one batch, and a record that already exists
//! (another replica took that address first) refuses the Service as well.

use keelson_proto::{Command, CommandResult};

use super::state_machine::holds;
use crate::storage::StoredValue;

/// The results of a refused batch, or `None` when every command would succeed.
/// `current[i]` is the stored value of `commands[i]`'s key.
pub fn refusal(
    commands: &[Command],
    current: &[Option<StoredValue>],
) -> Option<Vec<CommandResult>> {
    let mut refused = false;
    let results = commands
        .iter()
        .zip(current)
        .map(|(command, current)| {
            let failure = failure(command, current.as_ref());
            refused |= failure.is_some();
            failure.unwrap_or(CommandResult::Aborted)
        })
        .collect();
    refused.then_some(results)
}

/// The result `command` would fail with against `current`, if it would fail.
fn failure(command: &Command, current: Option<&StoredValue>) -> Option<CommandResult> {
    match (command, current) {
        (Command::Create { .. }, Some(_)) => Some(CommandResult::AlreadyExists),
        (Command::Update { .. } | Command::Delete { .. }, None) => Some(CommandResult::NotFound),
        (
            Command::Update { precondition, .. } | Command::Delete { precondition, .. },
            Some(current),
        ) if !holds(precondition, current) => Some(CommandResult::Conflict {
            revision: current.revision,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keelson_proto::Precondition;

    fn stored(revision: u64) -> Option<StoredValue> {
        Some(StoredValue {
            revision,
            value: b"{}".to_vec(),
        })
    }

    fn create(key: &str) -> Command {
        Command::Create {
            key: key.into(),
            value: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_taken_record_refuses_the_whole_batch() {
        let commands = [create("/svc"), create("/ip/10.0.0.7")];
        assert_eq!(refusal(&commands, &[None, None]), None);
        assert_eq!(
            refusal(&commands, &[None, stored(3)]),
            Some(vec![CommandResult::Aborted, CommandResult::AlreadyExists])
        );
    }

    #[test]
    fn release_never_fails_and_preconditions_count() {
        let delete = Command::Delete {
            key: "/svc".into(),
            precondition: Precondition::at_revision(5),
        };
        let release = Command::Release {
            key: "/ip/x".into(),
        };
        let commands = [delete, release];
        assert_eq!(refusal(&commands, &[stored(5), None]), None);
        assert_eq!(
            refusal(&commands, &[stored(6), None]),
            Some(vec![
                CommandResult::Conflict { revision: 6 },
                CommandResult::Aborted
            ])
        );
    }
}
