//! Each command: resolve the board, call the library, render, choose the exit code.
//!
//! Exit codes: 0 clean (or migrated), 1 findings (or `--check` says work is needed),
//! 2 any error (raised as [`Error`] and printed by `main`).

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::audit;
use crate::cli::{
    AuditArgs, Cli, Command, DiagnoseArgs, ExplainArgs, MigrateArgs, ScanArgs, ScenariosArgs,
    ScenariosCommand, SimulateArgs,
};
use crate::config::{Defaults, DiagConfig, Thresholds};
use crate::diagnose;
use crate::error::{Error, Result};
use crate::hermes;
use crate::migrate::{self, BackupChoice};
use crate::report::{
    RunInfo, Sink, diagnose_text, diagnose_text::TextReport, explain_text, json::JsonSink,
    json::to_string, migrate_text, style::Style,
};
use crate::rules;
use crate::scenarios;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let style = Style::for_stdout(cli.color);
    match &cli.command {
        Command::Diagnose(args) => diagnose_cmd(&cli, args, &style),
        Command::Audit(args) => audit_cmd(&cli, args, &style),
        Command::Explain(args) => explain_cmd(&cli, args, &style),
        Command::Migrate(args) => migrate_cmd(&cli, args, &style),
        Command::Scenarios(args) => scenarios_cmd(args, cli.db.as_deref(), &style),
        Command::Simulate(args) => simulate_cmd(args),
    }
}

fn diagnose_cmd(cli: &Cli, args: &DiagnoseArgs, style: &Style) -> Result<ExitCode> {
    if let Some(kind) = &args.explain {
        let doc = rules::doc(kind).expect("clap accepts only registered kinds");
        return print_doc(doc, args.scan.json);
    }
    if args.list_rules {
        return print_kinds(rules::KINDS);
    }
    let scan = &args.scan;
    let path = hermes::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let cfg = DiagConfig::discover(scan.config.as_deref(), scan.defaults)?;
    let thresholds = cfg.thresholds();
    let opts = diagnose::Options {
        now: scan.now.unwrap_or_else(now),
        task: scan.task(),
        severity: scan.severity,
        only: (!args.rules.is_empty()).then(|| args.rules.clone()),
        wait: scan.wait,
    };
    report_scan(scan, style, &path, &cfg, &thresholds, |emit| {
        diagnose::run(&path, &cfg, &opts, emit)
    })
}

/// Run a scan (`diagnose` or `audit`) into the sink `--json` picks, write the report, warn
/// on stderr, and choose the exit code: 1 when anything was found, unless `--exit-zero`.
fn report_scan(
    scan: &ScanArgs,
    style: &Style,
    path: &std::path::Path,
    cfg: &DiagConfig,
    thresholds: &Thresholds,
    run: impl FnOnce(&mut dyn FnMut(diagnose::TaskReport) -> Result<()>) -> Result<diagnose::Summary>,
) -> Result<ExitCode> {
    let mut sink: Box<dyn Sink> = if scan.json {
        Box::new(JsonSink::new().map_err(Error::temp_file)?)
    } else {
        Box::new(TextReport::new(*style).map_err(Error::temp_file)?)
    };
    let mut found = 0usize;
    let summary = run(&mut |rep| {
        found += rep.diagnostics.len();
        sink.add(&rep).map_err(Error::temp_file)
    })?;
    let info = RunInfo {
        board: path,
        config: cfg.source.as_deref(),
        thresholds,
        summary: &summary,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    sink.finish(&mut out, &info).map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    if let Some(w) = &summary.filesystem_warning {
        eprintln!("warning: {w}");
    }
    for line in diagnose_text::dropped_rule_warnings(&summary.failures) {
        eprintln!("{line}");
    }
    Ok(if found > 0 && !scan.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The current Unix time, for when `--now` is not given.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A rule's documentation, as text or JSON.
fn print_doc(doc: &rules::RuleDoc, json: bool) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_string(doc)).map_err(Error::Output)?;
    } else {
        diagnose_text::explain(&mut out, doc).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Rule kinds, one a line.
fn print_kinds(kinds: &[&str]) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for k in kinds {
        writeln!(out, "{k}").map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_cmd(cli: &Cli, args: &AuditArgs, style: &Style) -> Result<ExitCode> {
    if let Some(kind) = &args.explain {
        let doc = rules::audit::doc(kind).expect("clap accepts only registered kinds");
        return print_doc(doc, args.scan.json);
    }
    if args.list_rules {
        return print_kinds(rules::audit::KINDS);
    }
    if !args.with_diagnose
        && let Some(k) = args
            .rules
            .iter()
            .find(|k| !rules::audit::KINDS.contains(&k.as_str()))
    {
        return Err(Error::Usage {
            message: format!("--rule {k} is a diagnose rule: add --with-diagnose to run it"),
        });
    }
    let scan = &args.scan;
    let path = hermes::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let cfg = DiagConfig::discover(scan.config.as_deref(), scan.defaults)?;
    // The audit replays against its own breaker limit (the kernel's), not the one
    // `repeated_failures` quotes.
    let thresholds = Thresholds {
        failure_limit: rules::audit::breaker_limit(&cfg),
        ..cfg.thresholds()
    };
    let opts = audit::Options {
        now: scan.now.unwrap_or_else(now),
        task: scan.task(),
        severity: scan.severity,
        only: (!args.rules.is_empty()).then(|| args.rules.clone()),
        with_diagnose: args.with_diagnose,
        deep: args.deep,
        wait: scan.wait,
    };
    report_scan(scan, style, &path, &cfg, &thresholds, |emit| {
        audit::run(&path, &cfg, &opts, emit)
    })
}

fn explain_cmd(cli: &Cli, args: &ExplainArgs, style: &Style) -> Result<ExitCode> {
    let path = hermes::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let cfg = DiagConfig::discover(args.config.as_deref(), Defaults::Unified)?;
    let now = args.now.unwrap_or_else(now);
    let ex = audit::explain(&path, &cfg, &args.task, now, args.wait)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        writeln!(out, "{}", to_string(&ex)).map_err(Error::Output)?;
    } else {
        explain_text::render(&mut out, style, &ex).map_err(Error::Output)?;
    }
    out.flush().map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

fn migrate_cmd(cli: &Cli, args: &MigrateArgs, style: &Style) -> Result<ExitCode> {
    let path = hermes::resolve(cli.db.as_deref(), cli.board.as_deref())?;
    let opts = migrate::Options {
        strategy: args.strategy,
        drop_legacy: args.drop_legacy,
        plan_only: args.dry_run || args.check,
        backup: match (&args.backup, args.no_backup) {
            (_, true) => BackupChoice::None,
            (Some(p), false) => BackupChoice::At(p.clone()),
            (None, false) => BackupChoice::Beside,
        },
        wait: args.wait,
        recount: if args.recount {
            // `migrate` has no `--defaults`: the recount trips at kanban-doctor's limit.
            let cfg = DiagConfig::discover(args.config.as_deref(), Defaults::Unified)?;
            let params = rules::audit::Params::new(&cfg, 0);
            Some(migrate::recount::Options {
                trip: args.trip,
                configured_limit: params.configured_limit,
                default_limit: params.default_limit,
                now: args.now.unwrap_or_else(now),
            })
        } else {
            None
        },
    };
    let report = migrate::run(&path, &opts)?;
    if let Some(w) = &report.filesystem_warning {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if args.json {
        writeln!(out, "{}", to_string(&report))
    } else {
        migrate_text::render(&mut out, style, &report, args.check)
    }
    .and_then(|()| out.flush());
    if let Err(source) = written {
        // The migration is committed whatever happens to its report: say so, with the
        // backup, rather than an error that reads as if the board were unchanged.
        if report.changed && source.kind() != std::io::ErrorKind::BrokenPipe {
            let e = Error::ReportUnwritten {
                path: report.board.clone(),
                backup: report.backup.as_ref().map(|b| b.path.clone()),
                source,
            };
            eprintln!("{:?}", miette::Report::new(e));
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Error::Output(source));
    }
    let recount_work = report
        .recount
        .as_ref()
        .is_some_and(|r| !r.changes.is_empty());
    Ok(
        if args.check && (!report.steps.is_empty() || recount_work) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// `db` is the global `--db`: with `scenarios verify` it names a real kernel's board.
fn scenarios_cmd(
    args: &ScenariosArgs,
    db: Option<&std::path::Path>,
    style: &Style,
) -> Result<ExitCode> {
    let usage = |message: String| Error::Usage { message };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // clap refuses `--list` with a subcommand, so `--list` and no subcommand are one case.
    match &args.command {
        None => {
            for (i, s) in scenarios::SCENARIOS.iter().enumerate() {
                let outcomes: Vec<&str> = s.outcomes.iter().map(|o| o.as_str()).collect();
                writeln!(
                    out,
                    "{:<16} {}  {} ({})",
                    s.name,
                    scenarios::task_id(i),
                    s.about,
                    outcomes.join(",")
                )
                .map_err(Error::Output)?;
            }
        }
        Some(ScenariosCommand::Build {
            out: dir,
            scenarios: names,
            force,
        }) => {
            let selected = scenarios::select(names).map_err(usage)?;
            let paths = scenarios::verify::build(dir, &selected, *force)?;
            for p in paths {
                writeln!(out, "wrote {}", p.display()).map_err(Error::Output)?;
            }
        }
        Some(ScenariosCommand::Verify {
            scenarios: names,
            json,
            junit,
        }) => {
            let selected = scenarios::select(names).map_err(usage)?;
            let checks = match db {
                Some(board) => scenarios::verify::verify_db(board, &selected)?,
                None => {
                    let dir = tempfile::tempdir().map_err(Error::temp_file)?;
                    scenarios::verify::verify(dir.path(), &selected)?
                }
            };
            if let Some(file) = junit {
                std::fs::write(file, scenarios::junit::render(&checks)).map_err(|source| {
                    Error::Io {
                        path: file.clone(),
                        source,
                    }
                })?;
            }
            if *json {
                writeln!(out, "{}", to_string(&checks)).map_err(Error::Output)?;
            } else {
                scenarios::text::verify(&mut out, style, &checks).map_err(Error::Output)?;
            }
            out.flush().map_err(Error::Output)?;
            return Ok(if checks.iter().all(|c| c.pass) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        Some(ScenariosCommand::Driver) => {
            out.write_all(scenarios::driver::script().as_bytes())
                .map_err(Error::Output)?;
        }
    }
    out.flush().map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

fn simulate_cmd(args: &SimulateArgs) -> Result<ExitCode> {
    let sim = scenarios::simulate(&args.outcomes, args.semantics, args.limit, args.max_retries);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    scenarios::text::simulate(&mut out, &sim.steps, &sim.note).map_err(Error::Output)?;
    out.flush().map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// What `--version` prints after the name (`-V` prints the crate version alone): the
/// version, the SQLite compiled in (read from the library at run time, so it is the one
/// that opens boards) and the hermes-agent release whose schema `migrate` targets.
pub fn long_version() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        format!(
            "{} (SQLite {}, hermes-agent {} schema)",
            env!("CARGO_PKG_VERSION"),
            rusqlite::version(),
            crate::board::reference::HERMES_AGENT_VERSION,
        )
    })
}
