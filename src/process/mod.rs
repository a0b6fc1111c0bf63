//! Child processes and signals: the environment a child is given ([`child_env`]) and the
//! run's one listener for SIGINT and SIGTERM ([`interrupts`]).

pub mod child_env;
pub mod interrupts;
