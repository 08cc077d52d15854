//! The diagnostic rules' configuration, combined the way Hermes combines it.
//!
//! Hermes reads `config.yaml` and folds its `kanban`, `auxiliary` and `model` sections into
//! one flat dictionary (`config_from_runtime_config`), laid over the rule defaults. The rules
//! then read that dictionary with Python's `int()` and `float()`, so values keep their YAML
//! types here and are converted at the point of use, failing where Python would.
//!
//! Defaults follow the unified-counter change rather than hermes-agent 0.19.0: failure
//! threshold 3, breaker limit 5, crash threshold 2. `kanban.failure_limit` in a config file
//! still drives the failure threshold unless a diagnostics threshold is set explicitly.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use crate::error::Error;

/// The flat dictionary the rules read, after defaults and derivations.
#[derive(Debug, Clone)]
pub struct DiagConfig {
    map: Map<String, Json>,
    /// The file it came from, for messages; `None` when built from defaults only.
    pub source: Option<PathBuf>,
}

/// Built-in defaults of the rules (the values where they differ from 0.19.0).
fn defaults() -> Map<String, Json> {
    let v = json!({
        "failure_threshold": 3,
        "spawn_failure_threshold": 3,
        "crash_threshold": 2,
        "blocked_stale_hours": 24,
        "stranded_threshold_seconds": 1800,
        "failure_limit": 5,
    });
    match v {
        Json::Object(m) => m,
        _ => unreachable!("literal object"),
    }
}

impl Default for DiagConfig {
    fn default() -> Self {
        Self::from_runtime(&Json::Object(Map::new()), None)
    }
}

impl DiagConfig {
    /// Read a Hermes `config.yaml`. A file that does not parse is an error with its position.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: Json = if text.trim().is_empty() {
            Json::Null
        } else {
            serde_norway::from_str(&text).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                Error::ConfigParse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: e.to_string(),
                }
            })?
        };
        Ok(Self::from_runtime(&raw, Some(path.to_path_buf())))
    }

    /// `--config FILE`, else `config.yaml` in the Hermes home when it exists, else defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, Error> {
        if let Some(p) = explicit {
            return Self::load(p);
        }
        let home = crate::board::locate::hermes_home();
        let candidate = home.join("config.yaml");
        if candidate.is_file() {
            Self::load(&candidate)
        } else {
            Ok(Self::default())
        }
    }

    /// Fold a parsed runtime config into the rules' dictionary.
    pub fn from_runtime(raw: &Json, source: Option<PathBuf>) -> Self {
        let mut config = Map::new();
        if let Json::Object(raw) = raw {
            if let Some(Json::Object(kanban)) = raw.get("kanban") {
                let mut diag = match kanban.get("diagnostics") {
                    Some(Json::Object(d)) => d.clone(),
                    _ => Map::new(),
                };
                // The threshold follows the breaker limit only when the operator set one;
                // otherwise the defaults (3 and 5) stand.
                if let Some(limit) = kanban.get("failure_limit") {
                    if !diag.contains_key("failure_limit") {
                        diag.insert("failure_limit".into(), limit.clone());
                    }
                    if !diag.contains_key("failure_threshold")
                        && !diag.contains_key("spawn_failure_threshold")
                    {
                        let l = diag["failure_limit"].clone();
                        diag.insert("failure_threshold".into(), l);
                    }
                }
                config.extend(diag);
                config.insert("kanban".into(), Json::Object(kanban.clone()));
            }
            for key in ["auxiliary", "model"] {
                if let Some(v) = raw.get(key)
                    && !v.is_null()
                {
                    config.insert(key.into(), v.clone());
                }
            }
        }
        let mut map = defaults();
        let explicit_threshold = config.contains_key("failure_threshold")
            || config.contains_key("spawn_failure_threshold");
        let limit = config.get("failure_limit").cloned();
        map.extend(config);
        if !explicit_threshold && let Some(limit) = limit {
            map.insert(
                "failure_threshold".into(),
                positive_int(Some(&limit), 3).into(),
            );
        }
        DiagConfig { map, source }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.map.get(key)
    }

    pub fn map(&self) -> &Map<String, Json> {
        &self.map
    }
}

/// Python's `int(x)` on a config value; `None` where it raises.
pub fn py_int(v: &Json) -> Option<i64> {
    match v {
        Json::Bool(b) => Some(i64::from(*b)),
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(crate::python::float_to_int)),
        Json::String(s) => crate::python::parse_int(s),
        _ => None,
    }
}

/// Python's `float(x)` on a config value; `None` where it raises.
pub fn py_float(v: &Json) -> Option<f64> {
    match v {
        Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Json::Number(n) => n.as_f64(),
        Json::String(s) => crate::python::parse_float(s),
        _ => None,
    }
}

/// Python truthiness of a config value.
pub fn py_truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// `str(x)` of a config value, for the few places the reference stringifies one.
pub fn py_str(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n
                .as_f64()
                .map_or_else(|| n.to_string(), crate::python::float_repr),
        },
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The reference's tolerant positive-int read: the default for anything unusable or below 1.
pub fn positive_int(v: Option<&Json>, default: i64) -> i64 {
    match v.and_then(py_int) {
        Some(n) if n >= 1 => n,
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> DiagConfig {
        DiagConfig::from_runtime(&serde_norway::from_str(yaml).unwrap(), None)
    }

    #[test]
    fn defaults_are_threshold_three_limit_five() {
        let c = DiagConfig::default();
        assert_eq!(c.get("failure_threshold"), Some(&json!(3)));
        assert_eq!(c.get("failure_limit"), Some(&json!(5)));
        assert_eq!(c.get("crash_threshold"), Some(&json!(2)));
    }

    #[test]
    fn failure_limit_drives_threshold_unless_explicit() {
        let c = cfg("kanban:\n  failure_limit: 4\n");
        assert_eq!(c.get("failure_threshold"), Some(&json!(4)));
        assert_eq!(c.get("failure_limit"), Some(&json!(4)));
        let c = cfg("kanban:\n  failure_limit: 4\n  diagnostics:\n    failure_threshold: 2\n");
        assert_eq!(c.get("failure_threshold"), Some(&json!(2)));
    }

    #[test]
    fn kanban_section_without_limit_keeps_defaults() {
        let c = cfg("kanban:\n  auto_decompose: false\n");
        assert_eq!(c.get("failure_threshold"), Some(&json!(3)));
        assert_eq!(c.get("failure_limit"), Some(&json!(5)));
    }
}
