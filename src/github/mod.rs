//! The GitHub edge: one [`Client`] for every call to the REST API — releases, issue
//! comments ([`comments`]) and pull requests build on the same [`Client::get`],
//! [`Client::get_json`], [`Client::get_paginated`] and [`Client::send_json`] (writes).
//!
//! One token policy ([`policy`]): the token is a [`crate::secret::Secret`] from the moment
//! it is read, goes to the API origin only, on the first request only; redirects are
//! followed by hand without it, to `http(s)` URLs only, a bounded number of times; plain
//! `http` leaves the machine only with `--allow-insecure-api`. Errors ([`GithubError`])
//! say what a user can do: a rate limit and when it resets, a missing or weak token.

pub mod client;
pub mod comments;
pub mod error;
pub mod pagination;
pub mod policy;
pub mod pulls;
pub mod releases;

pub use client::Client;
pub use error::GithubError;
