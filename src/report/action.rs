//! What terraform does to one resource: its `actions` list (`["delete","create"]` is a
//! replace) → one [`Action`], said in the present or the past tense.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
    Read,
}

impl Action {
    pub(crate) fn from_actions(actions: &[String]) -> Self {
        let has = |name: &str| actions.iter().any(|a| a == name);
        match (has("create"), has("delete"), has("update"), has("read")) {
            (true, true, _, _) => Self::Replace,
            (true, false, _, _) => Self::Create,
            (false, true, _, _) => Self::Delete,
            (_, _, true, _) => Self::Update,
            (_, _, _, true) => Self::Read,
            _ => Self::NoOp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::NoOp => "no-op",
            Self::Read => "read",
        }
    }

    /// The past tense, for a report after `apply`.
    pub fn past(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update => "updated",
            Self::Replace => "replaced",
            Self::Delete => "deleted",
            Self::NoOp => "unchanged",
            Self::Read => "read",
        }
    }

    pub fn changes(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Replace | Self::Delete
        )
    }
}
