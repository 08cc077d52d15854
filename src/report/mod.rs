//! Renderers. Each takes findings or reports already computed and only formats them.

pub mod diagnose_text;
pub mod json;
pub mod migrate_text;
pub mod style;
