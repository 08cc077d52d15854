//! Each command: resolve the board, call the library, render, choose the exit code.
//!
//! Exit codes: 0 clean (or migrated), 1 findings (or `--check` says work is needed),
//! 2 any error (raised as [`Error`] and printed by `main`).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::board::locate;
use crate::cli::{Cli, Command, DiagnoseArgs, MigrateArgs};
use crate::config::DiagConfig;
use crate::diagnose;
use crate::error::{Error, Result};
use crate::migrate::{self, BackupChoice};
use crate::report::{
    diagnose_text, json::ArrayWriter, json::to_string, migrate_text, style::Style,
};
use crate::rules;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let style = Style::for_stdout(cli.color);
    match &cli.command {
        Command::Diagnose(args) => diagnose_cmd(&cli, args, &style),
        Command::Migrate(args) => migrate_cmd(&cli, args, &style),
    }
}

fn wait(seconds: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| Error::Usage {
        message: format!("--wait takes a non-negative number of seconds, not {seconds}"),
    })
}

fn diagnose_cmd(cli: &Cli, args: &DiagnoseArgs, style: &Style) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    if args.list_rules {
        let mut out = stdout.lock();
        for k in rules::KINDS {
            writeln!(out, "{k}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for r in &args.rules {
        if !rules::KINDS.contains(&r.as_str()) {
            return Err(Error::Usage {
                message: format!(
                    "unknown rule {r:?}; the rules are: {}",
                    rules::KINDS.join(", ")
                ),
            });
        }
    }
    let path = locate::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let cfg = DiagConfig::discover(args.config.as_deref())?;
    let now = args.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let opts = diagnose::Options {
        now,
        task: args.task.clone(),
        severity: args.severity,
        only: (!args.rules.is_empty()).then(|| args.rules.clone()),
        wait: wait(args.wait)?,
    };
    let mut found = 0usize;
    let summary;
    if args.json {
        let mut writer = ArrayWriter::new(std::io::BufWriter::new(stdout.lock()));
        summary = diagnose::run(&path, &cfg, &opts, |rep| {
            found += rep.diagnostics.len();
            writer.push(&rep).map_err(Error::Output)
        })?;
        writer.finish()?;
    } else {
        let mut text = diagnose_text::TextReport::new(*style);
        summary = diagnose::run(&path, &cfg, &opts, |rep| {
            found += rep.diagnostics.len();
            text.add(&rep).map_err(Error::Output)
        })?;
        let mut out = std::io::BufWriter::new(stdout.lock());
        text.finish(&mut out, &path, &summary)?;
        out.flush()?;
    }
    for (kind, n, why) in &summary.failures.0 {
        eprintln!(
            "warning: rule {kind} could not be evaluated for {n} task(s) ({why}); as in Hermes, its result was dropped there"
        );
    }
    Ok(if found > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn migrate_cmd(cli: &Cli, args: &MigrateArgs, style: &Style) -> Result<ExitCode> {
    let path = locate::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let opts = migrate::Options {
        strategy: args.strategy,
        drop_legacy: args.drop_legacy,
        plan_only: args.dry_run || args.check,
        backup: match (&args.backup, args.no_backup) {
            (_, true) => BackupChoice::None,
            (Some(p), false) => BackupChoice::At(p.clone()),
            (None, false) => BackupChoice::Beside,
        },
        wait: wait(args.wait)?,
    };
    let report = migrate::run(&path, &opts)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        writeln!(out, "{}", to_string(&report))?;
    } else {
        migrate_text::render(&mut out, style, &report, args.check)?;
    }
    out.flush()?;
    Ok(if args.check && !report.steps.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
