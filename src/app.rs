//! Each command: resolve the board, call the library, render, choose the exit code.
//!
//! Exit codes: 0 clean (or migrated), 1 findings (or `--check` says work is needed),
//! 2 any error: raised as [`Error`] and printed by [`main`] on stderr, for a person and,
//! with `--json`, then also as one line of JSON for a program.

mod all_boards;
mod generate_cmd;
mod rules_cmd;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, FromArgMatches};

use crate::audit;
use crate::cli::{
    AuditArgs, BoardArgs, Cli, Command, DiagnoseArgs, ExplainArgs, MigrateArgs, Prescan, ScanArgs,
    ScenariosArgs, ScenariosCommand, SimulateArgs,
};
use crate::config::{Defaults, DiagConfig, Thresholds};
use crate::diagnose;
use crate::error::{Error, Result};
use crate::escape;
use crate::hermes;
use crate::migrate::{self, BackupChoice};
use crate::report::{
    self, BoardInfo, BoardLocation, Format, RunInfo, diagnose_text, explain_text,
    json::to_string,
    migrate_text,
    progress::Progress,
    style::{ColorChoice, Style},
};
use crate::rules;
use crate::scenarios;
use all_boards::Target;

/// The whole program, from the raw arguments to the exit code: parse, run, and print any
/// error as `--color` and `--json` ask.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let pre = Prescan::of(&args);
    let command = Cli::command().color(match pre.color {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    });
    let cli = match command
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, pre.json),
    };
    match run(&cli) {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err, cli.color, wants_json(&cli));
            ExitCode::from(2)
        }
    }
}

/// Print an error on stderr: for a person, and with `--json` then as one line of JSON, the
/// last line of stderr. stdout keeps its promise: a whole document or nothing.
pub(super) fn report_error(err: &Error, color: ColorChoice, json: bool) {
    let mut stderr = std::io::stderr().lock();
    // Nothing more can be said if stderr itself is gone.
    let _ = crate::report::error::human(&mut stderr, &Style::for_stderr(color), err);
    if json {
        let _ = writeln!(stderr, "{}", crate::report::error::json(err));
    }
}

/// clap's own errors (and `--help`, `--version`, which it raises as errors): printed by
/// clap, in its layout, and with `--json` followed by an error object with the usage code.
fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    let _ = e.print();
    if !e.use_stderr() {
        return ExitCode::SUCCESS;
    }
    if json {
        let text = e.render().to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let message = lines.next().unwrap_or_default();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        let help = lines.find_map(|l| l.strip_prefix("tip: "));
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            crate::report::error::json_parts(Some("kanban_doctor::usage"), message, help, &[])
        );
    }
    ExitCode::from(2)
}

/// Whether the command prints JSON, so that its errors should too.
fn wants_json(cli: &Cli) -> bool {
    match &cli.command {
        Command::Diagnose(DiagnoseArgs { scan, .. }) | Command::Audit(AuditArgs { scan, .. }) => {
            scan.output_format().is_ok_and(wants_json_format)
        }
        Command::Explain(a) => a.json,
        Command::Migrate(a) => a.json,
        Command::Rules(a) => a.json,
        Command::Scenarios(ScenariosArgs {
            command: Some(ScenariosCommand::Verify { json, .. }),
            ..
        }) => *json,
        Command::Scenarios(_)
        | Command::Simulate(_)
        | Command::Completions(_)
        | Command::Man(_) => false,
    }
}

pub fn run(cli: &Cli) -> Result<ExitCode> {
    let style = Style::for_stdout(cli.color);
    match &cli.command {
        Command::Diagnose(args) => diagnose_cmd(cli, args, &style),
        Command::Audit(args) => audit_cmd(cli, args, &style),
        Command::Explain(args) => explain_cmd(cli, args, &style),
        Command::Migrate(args) => migrate_cmd(cli, args, &style),
        Command::Scenarios(args) => scenarios_cmd(cli, args, &style),
        Command::Simulate(args) => {
            cli.no_board("simulate")?;
            simulate_cmd(args, &style)
        }
        Command::Rules(args) => {
            cli.no_board("rules")?;
            rules_cmd::run(args, &style)
        }
        Command::Completions(args) => {
            cli.no_board("completions")?;
            generate_cmd::completions(args)
        }
        Command::Man(args) => {
            cli.no_board("man")?;
            generate_cmd::man(args)
        }
    }
}

/// The board a command reads, from `--db`/`--board` (before or after the subcommand) or
/// the environment; warnings about the environment go to stderr.
fn board_path(cli: &Cli, local: &BoardArgs) -> Result<PathBuf> {
    let b = cli.board_for(local)?;
    let mut warnings = Vec::new();
    let path = hermes::resolve(b.db.as_deref(), b.board.as_deref(), &mut warnings)?;
    for w in warnings {
        eprintln!("{w}");
    }
    Ok(path)
}

fn diagnose_cmd(cli: &Cli, args: &DiagnoseArgs, style: &Style) -> Result<ExitCode> {
    if let Some(kind) = &args.explain {
        let doc = rules::doc(kind).expect("clap accepts only registered kinds");
        return print_doc(doc, format(&args.scan)? == Format::Json);
    }
    if args.list_rules {
        return print_kinds(rules::KINDS);
    }
    let scan = &args.scan;
    let targets = all_boards::targets(cli, &args.board, scan.all_boards)?;
    let cfg = DiagConfig::discover(scan.config.as_deref(), scan.defaults)?;
    let thresholds = cfg.thresholds();
    let opts = diagnose::Options {
        now: scan.now.unwrap_or_else(now),
        task: scan.task(),
        severity: scan.severity,
        only: (!args.rules.is_empty()).then(|| args.rules.clone()),
        wait: scan.wait,
    };
    let run = RunInfo {
        command: "diagnose",
        rules: diagnose::rules_run(&opts),
        checked_at: opts.now,
        name_boards: scan.all_boards,
    };
    report_scan(
        scan,
        style,
        cli.color,
        &run,
        &targets,
        &cfg,
        &thresholds,
        |path, emit| diagnose::run(path, &cfg, &opts, emit),
    )
}

/// `--format`, or `--json`: a usage error when they disagree.
fn format(scan: &ScanArgs) -> Result<Format> {
    scan.output_format()
        .map_err(|message| Error::Usage { message })
}

/// Run a scan (`diagnose` or `audit`) over its boards into the sink `--format` picks,
/// write the report, warn on stderr, and choose the exit code: 1 when anything was found,
/// unless `--exit-zero`. One board streams straight into the sink; several (`--all-boards`)
/// are checked in parallel and fed to it in order.
#[allow(clippy::too_many_arguments)]
fn report_scan(
    scan: &ScanArgs,
    style: &Style,
    color: ColorChoice,
    run_info: &RunInfo,
    targets: &[Target],
    cfg: &DiagConfig,
    thresholds: &Thresholds,
    run: impl Fn(&Path, &mut dyn FnMut(diagnose::TaskReport) -> Result<()>) -> Result<diagnose::Summary>
    + Sync,
) -> Result<ExitCode> {
    let format = format(scan)?;
    let cwd = std::env::current_dir().ok();
    let findings = |found: usize| u8::from(found > 0 && !scan.exit_zero);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if let [one] = targets
        && one.slug.is_none()
    {
        let mut sink = report::sink(format, *style, run_info).map_err(Error::temp_file)?;
        sink.begin_board(&BoardLocation::new(&one.path, cwd.as_deref()))
            .map_err(Error::temp_file)?;
        let mut found = 0usize;
        let progress = Progress::spinner(&format!("{} {}", run_info.command, one.label()));
        let summary = run(&one.path, &mut |rep| {
            found += rep.diagnostics.len();
            sink.add(&rep).map_err(Error::temp_file)
        })?;
        progress.finish();
        sink.end_board(&BoardInfo {
            board: &one.path,
            config: cfg.source.as_deref(),
            thresholds,
            summary: &summary,
        })
        .map_err(Error::temp_file)?;
        let cut = sink.warnings();
        sink.finish(&mut out).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        for line in cut {
            eprintln!("{line}");
        }
        scan_warnings(None, &summary);
        return Ok(ExitCode::from(findings(found)));
    }

    let progress = Progress::bar(
        targets.len() as u64,
        &format!("{} {} boards", run_info.command, targets.len()),
    );
    let results = all_boards::in_parallel(
        targets,
        |path| {
            let mut reports = Vec::new();
            run(path, &mut |rep| {
                reports.push(rep);
                Ok(())
            })
            .map(|summary| (reports, summary))
        },
        |t| {
            progress.message(&t.label());
            progress.inc();
        },
    );
    progress.finish();
    // The table is one report per board; every other format is one document naming the
    // board of each finding.
    let mut shared = match format {
        Format::Table => None,
        _ => Some(report::sink(format, *style, run_info).map_err(Error::temp_file)?),
    };
    let (mut codes, mut attention, mut diagnostics) = (Vec::new(), 0usize, 0usize);
    for (i, (t, result)) in targets.iter().zip(results).enumerate() {
        let (reports, summary) = match result {
            Ok(r) => r,
            Err(e) => {
                eprintln!("board {}:", escape::line(&t.label()));
                report_error(&e, color, wants_json_format(format));
                codes.push(2);
                continue;
            }
        };
        let found: usize = reports.iter().map(|r| r.diagnostics.len()).sum();
        codes.push(findings(found));
        attention += usize::from(found > 0);
        diagnostics += found;
        let mut own = None;
        let sink = match &mut shared {
            Some(s) => s,
            None => own.insert(report::sink(format, *style, run_info).map_err(Error::temp_file)?),
        };
        sink.begin_board(&BoardLocation::new(&t.path, cwd.as_deref()))
            .map_err(Error::temp_file)?;
        for rep in &reports {
            sink.add(rep).map_err(Error::temp_file)?;
        }
        sink.end_board(&BoardInfo {
            board: &t.path,
            config: cfg.source.as_deref(),
            thresholds,
            summary: &summary,
        })
        .map_err(Error::temp_file)?;
        if let Some(table) = own {
            if i > 0 {
                writeln!(out).map_err(Error::Output)?;
            }
            table.finish(&mut out).map_err(Error::Output)?;
        }
        scan_warnings(Some(&t.label()), &summary);
    }
    match shared {
        Some(sink) => {
            let cut = sink.warnings();
            sink.finish(&mut out).map_err(Error::Output)?;
            for line in cut {
                eprintln!("{line}");
            }
        }
        None => {
            let failed = codes.iter().filter(|&&c| c == 2).count();
            writeln!(
                out,
                "\n{}",
                style.bold(&all_boards::total_line(
                    targets.len(),
                    attention,
                    diagnostics,
                    failed
                ))
            )
            .map_err(Error::Output)?;
        }
    }
    out.flush().map_err(Error::Output)?;
    Ok(all_boards::worst(codes))
}

/// What a scan leaves for stderr: a filesystem warning and the rules Hermes would drop.
fn scan_warnings(board: Option<&str>, summary: &diagnose::Summary) {
    let prefix = board.map_or(String::new(), |b| format!("board {}: ", escape::line(b)));
    if let Some(w) = &summary.filesystem_warning {
        eprintln!("{prefix}warning: {w}");
    }
    for line in diagnose_text::dropped_rule_warnings(&summary.failures) {
        eprintln!("{prefix}{line}");
    }
}

/// Whether a scan format is JSON, whose readers also get errors as JSON.
fn wants_json_format(format: Format) -> bool {
    matches!(format, Format::Json | Format::Jsonl)
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
        return print_doc(doc, format(&args.scan)? == Format::Json);
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
    let targets = all_boards::targets(cli, &args.board, scan.all_boards)?;
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
    let run = RunInfo {
        command: "audit",
        rules: audit::rules_run(&opts),
        checked_at: opts.now,
        name_boards: scan.all_boards,
    };
    report_scan(
        scan,
        style,
        cli.color,
        &run,
        &targets,
        &cfg,
        &thresholds,
        |path, emit| audit::run(path, &cfg, &opts, emit),
    )
}

fn explain_cmd(cli: &Cli, args: &ExplainArgs, style: &Style) -> Result<ExitCode> {
    let path = board_path(cli, &args.board)?;
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
    // Copy keeps the legacy columns for dispatchers that still read them; dropping them
    // undoes that, and a plain `--drop-legacy` renames (or copies where SQLite refuses).
    if args.strategy == migrate::Strategy::Copy && args.drop_legacy {
        return Err(Error::Usage {
            message: "--strategy copy keeps the legacy columns for dispatchers that still read them, and --drop-legacy drops them: choose one (`--drop-legacy` alone renames the columns, copying where SQLite refuses)".into(),
        });
    }
    let targets = all_boards::targets(cli, &args.board, args.all_boards)?;
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
    let [Target { slug: None, path }] = &targets[..] else {
        return all_boards::migrate_all(&targets, &opts, args, style, cli.color);
    };
    let progress = Progress::spinner(&format!("migrate {}", path.display()));
    let report = migrate::run(path, &opts)?;
    progress.finish();
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
            let _ = crate::report::error::human(
                &mut std::io::stderr().lock(),
                &Style::for_stderr(cli.color),
                &e,
            );
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Error::Output(source));
    }
    Ok(ExitCode::from(migrate_exit(args, &report)))
}

/// 1 when `--check` finds work to do (schema steps, or a recount that changes counters).
fn migrate_exit(args: &MigrateArgs, report: &migrate::Report) -> u8 {
    let recount_work = report
        .recount
        .as_ref()
        .is_some_and(|r| !r.changes.is_empty());
    u8::from(args.check && (!report.steps.is_empty() || recount_work))
}

/// `scenarios verify --db` (before or after the subcommand) names a real kernel's board;
/// nothing else here reads a board.
fn scenarios_cmd(cli: &Cli, args: &ScenariosArgs, style: &Style) -> Result<ExitCode> {
    let usage = |message: String| Error::Usage { message };
    let db = match &args.command {
        Some(ScenariosCommand::Verify { db, .. }) => {
            if cli.board.is_some() {
                return Err(usage(
                    "scenarios verify reads only an explicit --db, not --board".into(),
                ));
            }
            cli.board_for(&BoardArgs {
                db: db.clone(),
                board: None,
            })?
            .db
        }
        Some(ScenariosCommand::Build { .. }) => {
            cli.no_board("scenarios build")?;
            None
        }
        Some(ScenariosCommand::Driver) => {
            cli.no_board("scenarios driver")?;
            None
        }
        None => {
            cli.no_board("scenarios")?;
            None
        }
    };
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
            ..
        }) => {
            let selected = scenarios::select(names).map_err(usage)?;
            let checks = match &db {
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

fn simulate_cmd(args: &SimulateArgs, style: &Style) -> Result<ExitCode> {
    let sim = scenarios::simulate(&args.outcomes, args.semantics, args.limit, args.max_retries);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    scenarios::text::simulate(&mut out, style, &sim.steps, &sim.note).map_err(Error::Output)?;
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
