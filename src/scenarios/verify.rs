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
    pub board: String,
    /// The scenario checked, or what is compared (`before migration`).
    pub subject: String,
    /// Which check: `status`, `counter`, `diagnose`, `audit`, …
    pub check: &'static str,
    pub expected: String,
    pub got: String,
    pub pass: bool,
}

/// The three boards of a build, by file name.
pub const BOARD: &str = "board.db";
pub const LEGACY: &str = "board-legacy.db";
pub const OLD_KERNEL: &str = "board-old-kernel.db";

/// Write the three boards for `selected` into `dir`, all or none: existing boards are
/// refused up front unless `overwrite`, and the boards are built in a staging directory
/// inside `dir`, then renamed into place, so a failure leaves `dir` as it was.
pub fn build(dir: &Path, selected: &[(usize, &Scenario)], overwrite: bool) -> Result<Vec<PathBuf>> {
    let cannot_write = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(cannot_write(dir))?;
    let names = [BOARD, LEGACY, OLD_KERNEL];
    let paths = names.map(|n| dir.join(n));
    if !overwrite {
        let existing: Vec<String> = paths
            .iter()
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| crate::escape::path(p))
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage {
                message: format!(
                    "{} already there; nothing was written: pass --force to replace the boards",
                    existing.join(", ")
                ),
            });
        }
    }
    let staging = tempfile::Builder::new()
        .prefix(".kanban-doctor-build-")
        .tempdir_in(dir)
        .map_err(cannot_write(dir))?;
    let staged = names.map(|n| staging.path().join(n));
    let unified = play(selected, Semantics::Unified);
    let old = play(selected, Semantics::Legacy);
    write_board(&staged[0], &unified, Names::Current, false)?;
    write_board(&staged[1], &unified, Names::Legacy, false)?;
    write_board(&staged[2], &old, Names::Legacy, false)?;
    for (from, to) in staged.iter().zip(&paths) {
        std::fs::rename(from, to).map_err(cannot_write(to))?;
    }
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
                board: board.into(),
                subject: format!("{}{when}", s.name),
                check: "diagnose",
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
        board: board.into(),
        subject: subject.into(),
        check: "diagnose",
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
        board: LEGACY.into(),
        subject: "migration".into(),
        check: "migrate",
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

/// Digits masked, so that pids and times do not make two errors of the same kind differ.
fn shape(error: Option<&str>) -> String {
    match error {
        None => "none".into(),
        Some(e) => {
            let mut out = String::new();
            let mut in_digits = false;
            for c in crate::py::strip(e).chars() {
                if c.is_ascii_digit() {
                    if !in_digits {
                        out.push('N');
                    }
                    in_digits = true;
                } else {
                    out.push(c);
                    in_digits = false;
                }
            }
            if out.is_empty() { "none".into() } else { out }
        }
    }
}

/// What one task of a real kernel's board holds.
struct Seen {
    status: Option<String>,
    counter: Option<i64>,
    error: Option<String>,
    /// Payload keys of each `gave_up` event, in order.
    gave_up: Vec<Vec<String>>,
    /// The time of the task's last event.
    last_event: i64,
}

/// The audit kinds that must stay silent on a fixed kernel's board.
const LOOP_KINDS: [&str; 3] = ["counter_drift", "retry_loop", "breaker_reopened"];

/// Check a board a real kernel wrote from `scenarios driver`: every selected scenario's task
/// (found by its title) against the model — final status, counter and error, the breaker's
/// `gave_up` and its payload keys, what `diagnose` flags, and that `audit` finds no drift,
/// loop or reopened breaker.
pub fn verify_db(path: &Path, selected: &[(usize, &Scenario)]) -> Result<Vec<Check>> {
    use crate::board::rows::Scope;
    use crate::board::{Access, Board, reference::reference};

    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let model = play(selected, Semantics::Unified);

    // The board's rows, and the time of its last event: diagnose and audit judge it as of
    // one minute later, as a dispatcher's next tick would.
    let board = Board::open(path, Access::ReadOnly, Duration::from_secs(5))?;
    let reader = board.reader()?;
    reader.snapshot().checked_state(path, reference())?;
    let mut tasks: Vec<(String, String, Seen)> = Vec::new();
    reader.tasks(|row| {
        let (t, l) = (&row.task, &row.listing);
        let (Some(id), Some(title)) = (row.id.as_text(), l.title.as_text()) else {
            return Ok(());
        };
        tasks.push((
            id.to_string(),
            title.to_string(),
            Seen {
                status: l.status.as_text().map(str::to_string),
                counter: crate::rules::audit::replay::int(&t.consecutive_failures),
                error: t.last_failure_error.as_text().map(str::to_string),
                gave_up: Vec::new(),
                last_event: 0,
            },
        ));
        Ok(())
    })?;
    for (id, _, seen) in &mut tasks {
        reader.events(Scope::Task(id), &["gave_up"], |_, ev| {
            seen.last_event = seen
                .last_event
                .max(ev.ts().ok().and_then(|t| t.to_i64()).unwrap_or(0));
            if ev.kind_is("gave_up") {
                let keys = ev.payload_object().map(|m| m.keys().cloned().collect());
                seen.gave_up.push(keys.unwrap_or_default());
            }
        })?;
    }
    reader.finish()?;
    drop(board);

    // Each scenario's task is diagnosed as of one minute after its own last event, as the
    // seeded scenarios are: a driver plays them one after another, and a task that finished
    // hours before the last one would otherwise also count as stranded in ready.
    let cfg = DiagConfig::default();
    let mut diagnosed = Vec::new();
    for (id, title, seen) in &tasks {
        if !selected.iter().any(|(_, s)| s.name == title) {
            continue;
        }
        let opts = diagnose::Options {
            now: seen.last_event + 60,
            task: Some(id.clone()),
            severity: None,
            only: None,
            wait: Duration::from_secs(5),
        };
        diagnose::run(path, &cfg, &opts, |r| {
            diagnosed.push(r);
            Ok(())
        })?;
    }
    let audit_opts = crate::audit::Options {
        now: tasks.iter().map(|t| t.2.last_event).max().unwrap_or(0) + 60,
        task: None,
        severity: None,
        only: Some(LOOP_KINDS.iter().map(|k| k.to_string()).collect()),
        with_diagnose: false,
        deep: false,
        wait: Duration::from_secs(5),
    };
    let mut audited = Vec::new();
    crate::audit::run(path, &cfg, &audit_opts, |r| {
        audited.push(r);
        Ok(())
    })?;

    let mut checks = Vec::new();
    for (k, (_, s)) in selected.iter().enumerate() {
        let check = |check: &'static str, expected: String, got: String| Check {
            board: name.clone(),
            subject: s.name.to_string(),
            check,
            pass: expected == got,
            expected,
            got,
        };
        let found: Vec<&(String, String, Seen)> = tasks
            .iter()
            .filter(|(_, title, _)| title == s.name)
            .collect();
        let [(id, _, seen)] = found[..] else {
            checks.push(check(
                "task",
                "one task titled with the scenario's name".into(),
                format!("{} tasks", found.len()),
            ));
            continue;
        };
        let want = &model.tasks[k];
        checks.push(check(
            "status",
            want.status.clone(),
            seen.status.clone().unwrap_or_else(|| "none".into()),
        ));
        checks.push(check(
            "counter",
            want.consecutive_failures.to_string(),
            seen.counter
                .map_or_else(|| "none".into(), |c| c.to_string()),
        ));
        checks.push(check(
            "error",
            shape(want.last_failure_error.as_deref()),
            shape(seen.error.as_deref()),
        ));
        let want_keys: Vec<Vec<String>> = model
            .events
            .iter()
            .filter(|e| e.task_id == want.id && e.kind == "gave_up")
            .map(|e| {
                e.payload
                    .as_ref()
                    .map_or_else(Vec::new, |p| p.keys().cloned().collect())
            })
            .collect();
        let describe = |events: &[Vec<String>]| match events {
            [] => "no gave_up event".to_string(),
            evs => evs
                .iter()
                .map(|keys| format!("gave_up {{{}}}", keys.join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
        };
        // A kernel may add payload keys (a fork's `retry_status`); the model's must be there.
        let breaker_ok = want_keys.len() == seen.gave_up.len()
            && want_keys
                .iter()
                .zip(&seen.gave_up)
                .all(|(want, got)| want.iter().all(|k| got.contains(k)));
        checks.push(Check {
            pass: breaker_ok,
            ..check("breaker", describe(&want_keys), describe(&seen.gave_up))
        });
        let report = diagnosed
            .iter()
            .find(|r| r.task_id.as_text() == Some(id.as_str()));
        checks.push(Check {
            board: name.clone(),
            subject: s.name.to_string(),
            check: "diagnose",
            expected: describe_expect(&s.unified),
            got: describe_got(report),
            pass: meets(&s.unified, report),
        });
        let loops = audited
            .iter()
            .find(|r| r.task_id.as_text() == Some(id.as_str()))
            .map_or_else(String::new, |r| describe_got(Some(r)));
        checks.push(check(
            "audit",
            "no drift, loop or reopened breaker".into(),
            if loops.is_empty() {
                "no drift, loop or reopened breaker".into()
            } else {
                loops
            },
        ));
    }
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
