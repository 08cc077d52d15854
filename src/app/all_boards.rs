//! `--all-boards`: every board of a Hermes install in one run.
//!
//! `diagnose` and `audit` check the boards two at a time (each in its own read
//! transaction, on its own connection) and report them in the order Hermes lists them;
//! `migrate` writes them one after another, each in its own transaction. A board that
//! fails is reported on stderr and the others still run; the exit code is the worst of
//! them (2 for an error, then 1 for findings or work to do).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{BoardArgs, Cli, MigrateArgs};
use crate::error::{Error, Result};
use crate::escape;
use crate::hermes;
use crate::migrate;
use crate::report::json::to_string;
use crate::report::migrate_text;
use crate::report::progress::Progress;
use crate::report::style::{ColorChoice, Style};

/// One board to check: its slug (under `--all-boards`) and its file.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub slug: Option<String>,
    pub path: PathBuf,
}

impl Target {
    /// How stderr names the board: its slug, or its path for a single board.
    pub fn label(&self) -> String {
        match &self.slug {
            Some(s) => s.clone(),
            None => self.path.display().to_string(),
        }
    }
}

/// The boards a command reads: the one `--db`/`--board`/Hermes name, or with `all`
/// every board under the root (`--db` and `--board` then make no sense).
pub(super) fn targets(cli: &Cli, local: &BoardArgs, all: bool) -> Result<Vec<Target>> {
    if !all {
        return Ok(vec![Target {
            slug: None,
            path: super::board_path(cli, local)?,
        }]);
    }
    let b = cli.board_for(local)?;
    if let Some(flag) =
        b.db.as_ref()
            .map(|_| "--db")
            .or(b.board.as_ref().map(|_| "--board"))
    {
        return Err(Error::Usage {
            message: format!(
                "--all-boards checks every board under the Hermes root, and {flag} names one: \
                 give one or the other"
            ),
        });
    }
    let found = hermes::list_boards(&hermes::Env::from_process());
    if found.found.is_empty() {
        return Err(Error::NoBoards { root: found.root });
    }
    for (slug, path) in &found.without_file {
        eprintln!(
            "note: board {} has no file to check yet ({} does not exist)",
            crate::escape::line(slug),
            crate::escape::line(&path.display().to_string())
        );
    }
    Ok(found
        .found
        .into_iter()
        .map(|(slug, path)| Target {
            slug: Some(slug),
            path,
        })
        .collect())
}

/// How many boards are checked at once: as many as there are cores, at most two (each
/// check is one core's work, and SQLite's page cache is per connection).
fn workers(boards: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores.clamp(1, 2).min(boards).max(1)
}

/// `work` on every target, `workers()` at a time, results in the targets' order.
/// `done` is called as each finishes (for progress), from the worker's thread.
pub(super) fn in_parallel<T: Send>(
    targets: &[Target],
    work: impl Fn(&Path) -> T + Sync,
    done: impl Fn(&Target) + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..targets.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers(targets.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(t) = targets.get(i) else { break };
                    let r = work(&t.path);
                    done(t);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every target is worked on"))
        .collect()
}

/// `migrate --all-boards`: each board in turn, each in its own transaction (nothing is
/// written with `--check` or `--dry-run`), each reported; then a total. With `--json`, one
/// array of `{"board", "path", "report"}` (or `"error"`) objects.
pub(super) fn migrate_all(
    targets: &[Target],
    opts: &migrate::Options,
    args: &MigrateArgs,
    style: &Style,
    color: ColorChoice,
) -> Result<ExitCode> {
    let progress = Progress::bar(
        targets.len() as u64,
        &format!("migrate {} boards", targets.len()),
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut entries = Vec::new();
    let (mut codes, mut changed, mut work) = (Vec::new(), 0usize, 0usize);
    for (i, t) in targets.iter().enumerate() {
        progress.message(&t.label());
        let result = migrate::run(&t.path, opts);
        progress.inc();
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                eprintln!("board {}:", escape::line(&t.label()));
                super::report_error(&e, color, args.json);
                codes.push(2);
                let error: serde_json::Value =
                    serde_json::from_str(&crate::report::error::json(&e)).unwrap_or_default();
                entries.push(serde_json::json!({
                    "board": t.label(),
                    "path": t.path.display().to_string(),
                    "error": error["error"],
                }));
                continue;
            }
        };
        if let Some(w) = &report.filesystem_warning {
            eprintln!("board {}: warning: {w}", escape::line(&t.label()));
        }
        let code = super::migrate_exit(args, &report);
        codes.push(code);
        changed += usize::from(report.changed);
        work += usize::from(code == 1 || (!report.steps.is_empty() && !report.changed));
        if args.json {
            entries.push(serde_json::json!({
                "board": t.label(),
                "path": t.path.display().to_string(),
                "report": serde_json::to_value(&report).map_err(|e| Error::Output(e.into()))?,
            }));
        } else {
            if i > 0 {
                writeln!(out).map_err(Error::Output)?;
            }
            writeln!(
                out,
                "{}",
                style.bold(&format!("== {}", escape::line(&t.label())))
            )
            .map_err(Error::Output)?;
            migrate_text::render(&mut out, style, &report, args.check).map_err(Error::Output)?;
        }
    }
    progress.finish();
    let failed = codes.iter().filter(|&&c| c == 2).count();
    if args.json {
        writeln!(out, "{}", to_string(&entries)).map_err(Error::Output)?;
    } else {
        let plural = |n: usize| if n == 1 { "board" } else { "boards" };
        let mut line = if opts.plan_only {
            format!(
                "\n{} checked: {work} {} migration",
                format_args!("{} {}", targets.len(), plural(targets.len())),
                if work == 1 { "needs" } else { "need" }
            )
        } else {
            format!(
                "\n{} {}: {changed} migrated, {} already current",
                targets.len(),
                plural(targets.len()),
                targets.len() - changed - failed
            )
        };
        if failed > 0 {
            line.push_str(&format!(", {failed} failed (see stderr)"));
        }
        writeln!(out, "{}", style.bold(&line)).map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    Ok(worst(codes))
}

/// The table's closing line over several boards.
pub(super) fn total_line(
    boards: usize,
    attention: usize,
    diagnostics: usize,
    failed: usize,
) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "{} checked: {} attention ({})",
        plural(boards, "board", "boards"),
        match attention {
            0 => "none needs".to_string(),
            1 => "1 needs".to_string(),
            n => format!("{n} need"),
        },
        plural(diagnostics, "diagnostic", "diagnostics")
    );
    if failed > 0 {
        line.push_str(&format!(
            ", {} could not be checked (see stderr)",
            plural(failed, "board", "boards")
        ));
    }
    line
}

/// The exit code of several boards: the worst of each board's.
pub(super) fn worst(codes: impl IntoIterator<Item = u8>) -> ExitCode {
    let w = codes.into_iter().fold(0u8, |a, c| {
        // 2 (an error) over 1 (findings) over 0.
        a.max(c)
    });
    ExitCode::from(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(n: usize) -> Target {
        Target {
            slug: Some(format!("b{n}")),
            path: PathBuf::from(format!("/boards/{n}")),
        }
    }

    #[test]
    fn results_come_back_in_the_targets_order_whoever_finishes_first() {
        let targets: Vec<Target> = (0..7).map(target).collect();
        let seen = AtomicUsize::new(0);
        let out = in_parallel(
            &targets,
            |p| {
                // The first board is the slowest.
                if p == Path::new("/boards/0") {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                p.display().to_string()
            },
            |_| {
                seen.fetch_add(1, Ordering::Relaxed);
            },
        );
        let want: Vec<String> = (0..7).map(|n| format!("/boards/{n}")).collect();
        assert_eq!(out, want);
        assert_eq!(seen.load(Ordering::Relaxed), 7);
        assert!(in_parallel(&[], |_| 0, |_| ()).is_empty());
    }

    #[test]
    fn the_worst_exit_code_wins() {
        assert_eq!(worst([0, 1, 0]), std::process::ExitCode::from(1));
        assert_eq!(worst([1, 2, 0]), std::process::ExitCode::from(2));
        assert_eq!(worst([]), std::process::ExitCode::SUCCESS);
        assert_eq!(target(3).label(), "b3");
        assert_eq!(
            total_line(3, 1, 4, 1),
            "3 boards checked: 1 needs attention (4 diagnostics), 1 board could not be checked \
             (see stderr)"
        );
        assert_eq!(
            total_line(1, 0, 0, 0),
            "1 board checked: none needs attention (0 diagnostics)"
        );
    }
}
