//! Arbitrary UTF-8 text as a `config.yaml`, through `DiagConfig::load` with either set of
//! defaults.
//!
//! Loading must answer a config or a parse error, never panic, and never take long: the
//! nesting pre-scan is there to refuse deep nesting in linear time before the YAML parser
//! (quadratic in flow depth) sees it. Run with `-timeout=10`.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kanban_doctor::fuzzing::{Defaults, DiagConfig};
use kanban_doctor::error::Error;
use libfuzzer_sys::fuzz_target;

/// One temp file per process, rewritten for every input and removed after it. In
/// /dev/shm where there is one: on a disk, ext4 flushes a file truncated and rewritten in
/// place, which made every input cost milliseconds.
fn config_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!(
            "kanban-doctor-fuzz-config-{}.yaml",
            std::process::id()
        ))
    })
}

fuzz_target!(|text: &str| {
    let path = config_path();
    std::fs::write(path, text).expect("write the temp config");
    let result = DiagConfig::load(path, Defaults::Unified);
    let stock = DiagConfig::load(path, Defaults::Hermes019);
    std::fs::remove_file(path).expect("remove the temp file");
    // Both sets read the same text: both parse or neither does.
    assert_eq!(result.is_ok(), stock.is_ok());
    if let Ok(stock) = stock {
        let _ = stock.thresholds();
    }
    match result {
        Ok(cfg) => {
            let _ = cfg.thresholds();
            assert_eq!(cfg.source.as_deref(), Some(path.as_path()));
            // The defaults are always laid under whatever the file says.
            for key in [
                "failure_threshold",
                "spawn_failure_threshold",
                "crash_threshold",
                "blocked_stale_hours",
                "stranded_threshold_seconds",
                "failure_limit",
            ] {
                assert!(cfg.get(key).is_some(), "{key} missing");
            }
        }
        Err(e) => {
            match &e {
                Error::ConfigParse { line, .. } => {
                    // A position, when there is one, is inside the text or just past its
                    // end. YAML breaks lines at CR, LF, CRLF, NEL, LS and PS; counting each
                    // of these characters once bounds the number of lines.
                    let breaks = text
                        .chars()
                        .filter(|c| matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'))
                        .count();
                    assert!(
                        *line <= breaks + 2,
                        "line {line} with {breaks} breaks: {e:?}"
                    );
                }
                other => panic!("unexpected error for UTF-8 text: {other:?}"),
            }
            let _ = e.to_string();
        }
    }
});
