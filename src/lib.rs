//! kanban-doctor keeps Hermes Agent kanban boards healthy, offline.
//!
//! A board is one SQLite file. The modules form layers, and every arrow points down
//! (`tests/layers.rs` keeps it so):
//!
//! - `escape`, `py`: terminal-safe text, and Python's semantics (`int()`,
//!   `float()`, `str.strip()`, `repr()`) with the dynamically typed SQLite cell they apply to;
//! - `lifecycle`: the 0.19.0 kernel's failure-counter rules (what counts, what is neutral,
//!   what resets, which limit applies), shared by the scenario kernel and the audit;
//! - `error`: the tool's own failures, each with a code and a help line;
//! - `hermes`: Hermes' conventions — where the Hermes home, its config and its boards are;
//! - `board`: check the header, open without ever creating, detect the schema state, and
//!   read rows (`board::rows`: the row types and a scoped reader inside one read
//!   transaction), under any schema state;
//! - `config`: the rules' settings, combined as Hermes combines them, over kanban-doctor's
//!   defaults or stock hermes-agent 0.19.0's;
//! - `rules`: one file per rule behind a registry; rules fold rows into small per-task
//!   state and never touch SQLite;
//! - `diagnose` (stream a board through the rules) and `migrate` (a pure plan, then one
//!   locked transaction with a backup and a verification);
//! - `audit`: replay every task's run and event history through `lifecycle` and run the
//!   audit rules (`rules::audit`), Hermes' rules beside them on request;
//! - `report`: sinks and renderers, which format what was computed and compute nothing;
//! - `scenarios`: the kernel's counter lifecycle model and the seeded scenarios;
//! - `cli` and `app`: parse and validate arguments, dispatch, choose the exit code.
//!
//! Data flows one way: board → rows → rules → findings → report. Start reading at `app`.

pub mod app;
mod audit;
mod board;
pub mod cli;
mod config;
mod diagnose;
pub mod error;
mod escape;
mod hermes;
mod lifecycle;
mod migrate;
mod py;
mod report;
pub mod rules;
pub mod scenarios;

/// What the fuzz targets (`fuzz/`) reach inside the crate. Not an API: it exists only
/// with the `fuzzing` feature, which `fuzz/Cargo.toml` turns on.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::board::header::{self, Journal};
    pub use crate::config::{Defaults, DiagConfig};
    pub mod escape {
        pub use crate::escape::line;
    }
    pub use crate::py::int::Int;
    pub use crate::py::json::to_string_compact;
    pub use crate::py::object::{Dict, Object};
    pub use crate::py::value::Value;
    pub use crate::rules::support::{ActiveHits, UniqueList, iter_ids, payload_object};
    pub use crate::rules::{EventRow, PayloadMode};
}
