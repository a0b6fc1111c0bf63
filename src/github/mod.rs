//! The GitHub edge: one [`Client`] for every call to the REST API — releases, issue
//! comments ([`comments`]) and pull requests build on the same [`Client::get`],
//! [`Client::get_json`], [`Client::get_paginated`] and [`Client::send_json`] (writes).
//!
//! One token policy ([`policy`]): the token is a [`crate::secret::Secret`] from the moment
//! it is read and goes to the API origin only — on redirects too, while they stay there (a
//! renamed repository), never again once a redirect chain has left it (asset storage).
//! Redirects are followed by hand, to `http(s)` URLs only, a bounded number of times; a write
//! follows only a 307 or 308 on the API origin. Plain `http` leaves the machine only with
//! `--allow-insecure-api`. Rate limits are waited for as GitHub asks, within the run's
//! deadline ([`crate::retry::RateLimitWaits`]). Errors ([`GithubError`]) carry GitHub's own
//! words, the call that failed and the permission it needs.

pub mod client;
pub mod comments;
pub mod error;
pub mod pagination;
pub mod policy;
pub mod pulls;
pub mod releases;

pub use client::{Client, GithubSettings};
pub use error::GithubError;
