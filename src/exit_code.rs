//! Every exit code lambda-gitops can return, in one place (docs/cli.md: "Exit codes").

/// Success; with `--detailed-exitcode`, success and no changes.
pub const SUCCESS: u8 = 0;
/// Any error: invalid gitops repo, staging failure, terraform failure.
pub const ERROR: u8 = 1;
/// Only with `--detailed-exitcode`: the plan has changes.
pub const CHANGES: u8 = 2;
/// `rollout`: an alarm rolled a rollout back (traffic is on the old version again).
pub const ROLLED_BACK: u8 = 3;
/// Interrupted by SIGINT (128 + 2).
pub const INTERRUPTED: u8 = 130;
/// Terminated by SIGTERM (128 + 15).
pub const TERMINATED: u8 = 143;

/// Combines the outcomes of several services: the worst wins, in the order
/// interrupted > error > rolled back > changes > success.
pub fn worst(a: u8, b: u8) -> u8 {
    fn rank(code: u8) -> u8 {
        match code {
            SUCCESS => 0,
            CHANGES => 1,
            ROLLED_BACK => 2,
            INTERRUPTED | TERMINATED => 4,
            _ => 3,
        }
    }
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_beats_changes_beats_success() {
        assert_eq!(worst(SUCCESS, CHANGES), CHANGES);
        assert_eq!(worst(CHANGES, ERROR), ERROR);
        assert_eq!(worst(ERROR, CHANGES), ERROR);
        assert_eq!(worst(ERROR, SUCCESS), ERROR);
        assert_eq!(worst(SUCCESS, SUCCESS), SUCCESS);
        assert_eq!(worst(ERROR, INTERRUPTED), INTERRUPTED);
    }
}
