//! What the binary runs besides `serve`: each command's work and its output, so that
//! `main.rs` only parses arguments and prints.

pub mod check;
pub mod classify;
pub mod halo;
pub mod jobs;
pub mod learn;
pub mod migrate_store;
pub mod report;
