//! kanban-doctor keeps Hermes Agent kanban boards healthy, offline.
//!
//! A board is one SQLite file. Data flows one way: `board` (find, check, open, read rows
//! under any schema state) → `rules` (fold rows into per-task state, evaluate) → `diagnose`
//! (drive the passes) → `report` (render). `migrate` plans a schema change as a pure
//! function of a schema snapshot, then applies it in one transaction with a backup and a
//! verification. Start reading at `app`, which maps each command to those pieces.

pub mod app;
pub mod board;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod escape;
pub mod hermes;
pub mod migrate;
pub mod python;
pub mod report;
pub mod rules;
pub mod scenarios;
pub mod value;
