//! The terminal: logs on stderr ([`logging`]), progress bars or lines ([`progress`]) and
//! the `yes` question ([`prompt`]). Data goes to stdout elsewhere; nothing here writes it.

pub mod logging;
pub mod progress;
pub mod prompt;
