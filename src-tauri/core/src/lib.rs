//! Delegate's engine: it polls task sources, hands tasks to headless agent CLIs and records
//! what happened. Nothing here knows about Tauri; the desktop shell and the `delegate` CLI
//! are thin layers over [`engine::Engine`].

pub mod activity;
pub mod agent;
pub mod claims;
pub mod config;
pub mod doctor;
pub mod drafts;
pub mod employees;
pub mod engine;
mod error_code;
pub mod history;
pub mod labels;
pub mod logging;
pub mod memory;
pub mod notice;
pub mod outcome;
pub mod paths;
pub mod review;
pub mod sandbox;
pub mod secrets;
pub mod settings;
pub mod source;
pub mod status;
pub mod template;
#[cfg(test)]
mod testing;
pub mod worker;

pub use config::{Config, Employee};
pub use engine::{Engine, EngineError, EngineOptions};
pub use paths::Paths;
