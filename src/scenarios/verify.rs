//! `scenarios verify`: build the scenario boards, migrate the legacy ones, diagnose all, and
//! check every task against what the fix promised. A job any CI can run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::kernel::Semantics;
use super::write::{Names, write_board};
use super::{Expect, NOW, Scenario, play, task_id};
use crate::config::DiagConfig;
use crate::diagnose::{self, TaskReport};
use crate::error::{Error, Result};
use crate::migrate::Strategy;
use crate::migrate::{self, BackupChoice};
use crate::report::json::to_string;

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub board: &'static str,
    pub subject: String,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

/// The three boards of a build, by file name.
pub const BOARD: &str = "board.db";
pub const LEGACY: &str = "board-legacy.db";
pub const OLD_KERNEL: &str = "board-old-kernel.db";

/// Write the three boards for `selected` into `dir`.
pub fn build(dir: &Path, selected: &[(usize, &Scenario)], overwrite: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let unified = play(selected, Semantics::Unified);
    let old = play(selected, Semantics::Legacy);
    let paths = [BOARD, LEGACY, OLD_KERNEL].map(|n| dir.join(n));
    write_board(&paths[0], &unified, Names::Current, overwrite)?;
    write_board(&paths[1], &unified, Names::Legacy, overwrite)?;
    write_board(&paths[2], &old, Names::Legacy, overwrite)?;
    Ok(paths.to_vec())
}

fn diagnose_board(path: &Path) -> Result<(Vec<TaskReport>, String)> {
    let opts = diagnose::Options {
        now: NOW,
        task: None,
        severity: None,
        only: None,
        wait: Duration::from_secs(5),
    };
    let mut reports = Vec::new();
    diagnose::run(path, &DiagConfig::default(), &opts, |r| {
        reports.push(r);
        Ok(())
    })?;
    let json = to_string(&reports);
    Ok((reports, json))
}

fn migrate_board(path: &Path) -> Result<String> {
    let report = migrate::run(
        path,
        &migrate::Options {
            strategy: Strategy::Rename,
            drop_legacy: false,
            plan_only: false,
            backup: BackupChoice::None,
            wait: Duration::from_secs(5),
            recount: None,
        },
    )?;
    Ok(report
        .state_after
        .map_or_else(|| report.state_before.label(), |s| s.label()))
}

/// The most recent failure outcome as shown in both columns of the table: ` [timed_out]`.
fn bracketed(outcome: Option<&str>) -> String {
    outcome.map_or(String::new(), |o| format!(" [{o}]"))
}

fn describe_expect(e: &Expect) -> String {
    match e {
        Expect::Clean => "no diagnostics".into(),
        Expect::Flag {
            kind,
            title,
            outcome,
            action,
        } => {
            format!("{kind}: {title}…{} → {action}…", bracketed(*outcome))
        }
    }
}

fn describe_got(r: Option<&TaskReport>) -> String {
    let Some(r) = r.filter(|r| !r.diagnostics.is_empty()) else {
        return "no diagnostics".into();
    };
    r.diagnostics
        .iter()
        .map(|d| {
            let outcome = bracketed(d.data.get("most_recent_outcome").and_then(|v| v.as_str()));
            let action = d
                .actions
                .iter()
                .find(|a| a.suggested)
                .map_or(String::new(), |a| format!(" → {}", a.label));
            format!(
                "{}: {}{outcome}{action}",
                d.kind,
                crate::escape::line(&d.title)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn meets(e: &Expect, r: Option<&TaskReport>) -> bool {
    let diags = r.map_or(&[][..], |r| &r.diagnostics[..]);
    match e {
        Expect::Clean => diags.is_empty(),
        Expect::Flag {
            kind,
            title,
            outcome,
            action,
        } => {
            let [d] = diags else { return false };
            d.kind == *kind
                && d.title.starts_with(title)
                && outcome.is_none_or(|o| {
                    d.data.get("most_recent_outcome").and_then(|v| v.as_str()) == Some(o)
                })
                && d.actions
                    .iter()
                    .any(|a| a.suggested && a.label.starts_with(action))
        }
    }
}

fn per_task(
    board: &'static str,
    selected: &[(usize, &Scenario)],
    reports: &[TaskReport],
    pick: fn(&Scenario) -> Expect,
    when: &str,
) -> Vec<Check> {
    selected
        .iter()
        .map(|(i, s)| {
            let id = task_id(*i);
            let r = reports
                .iter()
                .find(|r| r.task_id.as_text() == Some(id.as_str()));
            let e = pick(s);
            Check {
                board,
                subject: format!("{}{when}", s.name),
                expected: describe_expect(&e),
                got: describe_got(r),
                pass: meets(&e, r),
            }
        })
        .collect()
}

fn same(board: &'static str, subject: &str, a: &str, b: &str, what: &str) -> Check {
    let pass = a == b;
    Check {
        board,
        subject: subject.into(),
        expected: what.into(),
        got: if pass {
            what.into()
        } else {
            "outputs differ".into()
        },
        pass,
    }
}

/// Build, migrate and diagnose in `dir`; every check, passed or not.
pub fn verify(dir: &Path, selected: &[(usize, &Scenario)]) -> Result<Vec<Check>> {
    let paths = build(dir, selected, false)?;
    let mut checks = Vec::new();

    let (unified, unified_json) = diagnose_board(&paths[0])?;
    checks.extend(per_task(BOARD, selected, &unified, |s| s.unified, ""));

    let (_, legacy_before) = diagnose_board(&paths[1])?;
    checks.push(same(
        LEGACY,
        "before migration",
        &legacy_before,
        &unified_json,
        "same diagnostics as board.db",
    ));
    let state = migrate_board(&paths[1])?;
    checks.push(Check {
        board: LEGACY,
        subject: "migration".into(),
        expected: "current".into(),
        got: state.clone(),
        pass: state == "current",
    });
    let (_, legacy_after) = diagnose_board(&paths[1])?;
    checks.push(same(
        LEGACY,
        "after migration",
        &legacy_after,
        &legacy_before,
        "same diagnostics as before",
    ));

    let (old, old_before) = diagnose_board(&paths[2])?;
    checks.extend(per_task(OLD_KERNEL, selected, &old, |s| s.old_kernel, ""));
    migrate_board(&paths[2])?;
    let (_, old_after) = diagnose_board(&paths[2])?;
    checks.push(same(
        OLD_KERNEL,
        "after migration",
        &old_after,
        &old_before,
        "same diagnostics as before",
    ));
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_passes_on_fresh_boards() {
        let dir = tempfile::tempdir().unwrap();
        let checks = verify(dir.path(), &super::super::select(&[]).unwrap()).unwrap();
        let failed: Vec<_> = checks.iter().filter(|c| !c.pass).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert_eq!(checks.len(), 6 + 3 + 6 + 1);
    }
}
