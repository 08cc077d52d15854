//! The current schema: what a fresh hermes-agent 0.19.0 board has.
//!
//! The column list is the committed fixture `fixtures/reference/schema.json`, produced from
//! `hermes_cli.kanban_db.init_db` by `fixtures/reference/dump_schema.py`. It is compiled in,
//! so the migration target and the fixture the tests compare against cannot drift apart.

use std::sync::OnceLock;

use serde::Deserialize;

/// A column of the reference schema (`PRAGMA table_info` as the reference board has it).
#[derive(Debug, Clone, Deserialize)]
pub struct RefColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub decl_type: String,
    #[serde(deserialize_with = "int_bool")]
    pub notnull: bool,
    pub dflt_value: Option<String>,
}

/// `PRAGMA table_info` reports `notnull` as 0 or 1.
fn int_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    i64::deserialize(d).map(|n| n != 0)
}

impl RefColumn {
    /// The column definition for `ALTER TABLE … ADD COLUMN`.
    pub fn definition(&self) -> String {
        let mut def = format!("\"{}\" {}", self.name, self.decl_type);
        if self.notnull {
            def.push_str(" NOT NULL");
        }
        if let Some(d) = &self.dflt_value {
            def.push_str(" DEFAULT ");
            def.push_str(d);
        }
        def
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Table {
    pub name: String,
    pub sql: String,
    pub columns: Vec<RefColumn>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
}

impl Reference {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// The hermes-agent release whose schema kanban-doctor targets: `migrate` brings boards to
/// it, and `lifecycle` models its kernel. `--version` names it; a unit test checks that the
/// compiled-in reference schema was dumped from this release.
pub const HERMES_AGENT_VERSION: &str = "0.19.0";

/// The compiled-in reference schema.
pub fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        serde_json::from_str(include_str!("../../fixtures/reference/schema.json"))
            .expect("fixtures/reference/schema.json is valid (checked by tests)")
    })
}

/// The counter columns the unified-failure change renamed: (current, legacy).
pub const RENAMED: [(&str, &str); 2] = [
    ("consecutive_failures", "spawn_failures"),
    ("last_failure_error", "last_spawn_error"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_parses_and_has_the_unified_counter() {
        let r = reference();
        let tasks = r.table("tasks").unwrap();
        let c = tasks
            .columns
            .iter()
            .find(|c| c.name == "consecutive_failures")
            .unwrap();
        assert_eq!(
            c.definition(),
            "\"consecutive_failures\" INTEGER NOT NULL DEFAULT 0"
        );
        assert!(tasks.columns.iter().any(|c| c.name == "claim_lock"));
    }

    #[test]
    fn reference_schema_comes_from_the_targeted_release() {
        let dump: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/reference/schema.json")).unwrap();
        assert_eq!(dump["hermes_agent_version"], HERMES_AGENT_VERSION);
    }
}
