//! Command-line interface: the commands, their flags, and the help text users read.
//!
//! A flag is declared on the commands it means something to: `--db`/`--board` on those
//! that read a board ([`BoardArgs`]), `--color` everywhere. `--db` and `--board` are also
//! accepted before the subcommand, as they always were; `app` refuses them there for a
//! command that reads no board.

mod board;
pub mod generate;
mod prescan;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use board::BoardArgs;
pub use generate::{CompletionsArgs, ManArgs, Shell};
pub use prescan::Prescan;

use crate::report::style::ColorChoice;
use crate::rules::Severity;

/// Keep Hermes Agent kanban boards healthy: migrate them to the current schema and
/// diagnose the tasks an operator must act on, offline and read-only.
#[derive(Debug, Parser)]
#[command(
    name = "kanban-doctor",
    version,
    long_version = crate::app::long_version(),
    about,
    long_about = None
)]
pub struct Cli {
    /// The board file, for the commands that read one (diagnose, audit, explain, migrate,
    /// scenarios verify); also accepted after the subcommand.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Board slug, for the commands that read a board; also accepted after the subcommand.
    #[arg(long, value_name = "SLUG")]
    pub board: Option<String>,

    /// When to color human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the diagnostic rules over every task and print what needs an operator.
    Diagnose(DiagnoseArgs),
    /// Replay every task's run and event history to find what the counter never saw:
    /// retry loops, counter drift, reopened breakers, broken links, board health.
    Audit(AuditArgs),
    /// Show one task's timeline with the counter after each step, and every rule's verdict.
    Explain(ExplainArgs),
    /// Bring the board to the current hermes-agent schema without losing a value.
    Migrate(MigrateArgs),
    /// Rebuild the seeded unified-counter scenarios as boards, and verify them.
    Scenarios(ScenariosArgs),
    /// Play a list of attempt outcomes through the kernel and show the counter after each.
    Simulate(SimulateArgs),
    /// List every rule (diagnose and audit) with its default severity and config keys, or
    /// print one rule's documentation.
    Rules(RulesArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule kind: print its full documentation instead of the list.
    #[arg(value_name = "KIND",
          value_parser = clap::builder::PossibleValuesParser::new(
              crate::rules::KINDS.iter().chain(crate::rules::audit::KINDS)))]
    pub kind: Option<String>,

    /// Print the same as JSON.
    #[arg(long)]
    pub json: bool,
}

// `--list` is not global and conflicts with the subcommands: `scenarios build --list` must
// be refused, not a listing in place of the build.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScenariosArgs {
    /// List the scenarios and exit (what `scenarios` alone does).
    #[arg(long)]
    pub list: bool,

    #[command(subcommand)]
    pub command: Option<ScenariosCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ScenariosCommand {
    /// Write board.db, board-legacy.db and board-old-kernel.db into a directory.
    Build {
        /// Where to write the boards.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only this scenario (repeatable).
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<String>,
        /// Replace boards that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Build the boards in a temporary directory, migrate, diagnose and check every task;
    /// with --db BOARD, check a board a real kernel wrote from `scenarios driver` instead
    /// (only an explicit --db: HERMES_KANBAN_DB and --board are not read here). Exit 1 on
    /// any mismatch.
    Verify {
        /// A board a real kernel wrote from `scenarios driver`, to check instead of the model's.
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Only this scenario (repeatable).
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<String>,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the checks as a JUnit XML report (one test case per check).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Print a Python script that plays every seeded scenario through the hermes-agent
    /// kernel it can import, into a fresh board (`python3 driver.py --out board.db`).
    Driver,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Comma-separated outcomes: spawn_failed, timed_out, crashed, completed, reclaimed.
    #[arg(long, value_delimiter = ',', required = true, value_name = "OUTCOMES",
          value_parser = parse_outcome)]
    pub outcomes: Vec<crate::scenarios::kernel::Outcome>,

    /// The configured breaker limit (kanban.failure_limit).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub limit: i64,

    /// A per-task limit (max_retries), which wins over --limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub max_retries: Option<i64>,

    /// Which kernel: the unified counter, or the legacy spawn-only one.
    #[arg(long, value_enum, default_value_t = crate::scenarios::kernel::Semantics::Unified)]
    pub semantics: crate::scenarios::kernel::Semantics,
}

/// The flags `diagnose` and `audit` share: what to scan, how to report, when to exit 1.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Only this task, in any status (reported even when nothing is found); `audit` then
    /// skips its board-wide checks. An empty ID names no task, as in Hermes.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,

    /// Keep findings at or above this severity.
    #[arg(long, value_enum)]
    pub severity: Option<Severity>,

    /// Print JSON: for `diagnose` identical to `hermes kanban diagnostics --json`, for
    /// `audit` the same shape, with null task fields for findings about the board. The same
    /// as --format json.
    #[arg(long)]
    pub json: bool,

    /// Output format (default: table): the human report, JSON, or a format for CI and
    /// monitoring.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::report::Format>,

    /// Evaluate as of this Unix time (seconds) instead of now; for reproducible output.
    #[arg(long, value_name = "EPOCH", allow_negative_numbers = true)]
    pub now: Option<i64>,

    /// A Hermes config.yaml (default: config.yaml in the Hermes home, when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The defaults the config is laid over: `unified` (failure threshold 3, breaker limit
    /// 5, crash threshold 2) or stock hermes-agent 0.19.0's `hermes-0.19` (2, 2, 2; any
    /// `kanban` section sets a breaker limit the threshold follows).
    #[arg(long, value_enum, default_value_t = crate::config::Defaults::Unified, value_name = "SET")]
    pub defaults: crate::config::Defaults,

    /// Exit 0 even when findings are reported.
    #[arg(long)]
    pub exit_zero: bool,

    /// Seconds to wait for a locked board before giving up (0 to 86400).
    #[arg(long, default_value = "5", value_parser = parse_wait, value_name = "SECONDS")]
    pub wait: Duration,

    /// Check every board under the Hermes root (the default board and each
    /// kanban/boards/<slug>/kanban.db), two at a time; exit with the worst result.
    #[arg(long, conflicts_with = "task")]
    pub all_boards: bool,
}

impl ScanArgs {
    /// The output format: `--format`, or `--json`, or the table. `--json` is `--format json`,
    /// so it may be given with that, and no other.
    pub fn output_format(&self) -> Result<crate::report::Format, String> {
        use crate::report::Format;
        match (self.format, self.json) {
            (Some(f), true) if f != Format::Json => Err(format!(
                "--json is --format json: it cannot be combined with --format {}",
                clap::ValueEnum::to_possible_value(&f)
                    .map_or_else(String::new, |v| v.get_name().to_string())
            )),
            (Some(f), _) => Ok(f),
            (None, true) => Ok(Format::Json),
            (None, false) => Ok(Format::Table),
        }
    }

    /// The task to scan, if any. `--task ''` names none: Hermes tests the argument for
    /// truth, and an empty id is false, so it reports the whole board.
    pub fn task(&self) -> Option<String> {
        self.task.clone().filter(|t| !t.is_empty())
    }
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub board: BoardArgs,

    #[command(flatten)]
    pub scan: ScanArgs,

    /// Run only these rules (repeatable); see --list-rules.
    #[arg(long = "rule", value_name = "KIND",
          value_parser = clap::builder::PossibleValuesParser::new(crate::rules::KINDS))]
    pub rules: Vec<String>,

    /// List the rules in evaluation order and exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Print a rule's documentation (with --json, as data) and exit.
    #[arg(long, value_name = "KIND",
          value_parser = clap::builder::PossibleValuesParser::new(crate::rules::KINDS))]
    pub explain: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub board: BoardArgs,

    #[command(flatten)]
    pub scan: ScanArgs,

    /// Run only these rules (repeatable): audit kinds, or diagnose kinds with --with-diagnose.
    #[arg(long = "rule", value_name = "KIND",
          value_parser = clap::builder::PossibleValuesParser::new(
              crate::rules::audit::KINDS.iter().chain(crate::rules::KINDS)))]
    pub rules: Vec<String>,

    /// Also run Hermes' diagnostic rules; their findings come first in each task's list.
    #[arg(long)]
    pub with_diagnose: bool,

    /// Run SQLite's full integrity_check instead of quick_check (slower: reads every index).
    #[arg(long)]
    pub deep: bool,

    /// List the audit rules in evaluation order and exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Print an audit rule's documentation (with --json, as data) and exit.
    #[arg(long, value_name = "KIND",
          value_parser = clap::builder::PossibleValuesParser::new(crate::rules::audit::KINDS))]
    pub explain: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The task id.
    #[arg(value_name = "TASK")]
    pub task: String,

    #[command(flatten)]
    pub board: BoardArgs,

    /// Print the same as JSON.
    #[arg(long)]
    pub json: bool,

    /// Evaluate as of this Unix time (seconds) instead of now; for reproducible output.
    #[arg(long, value_name = "EPOCH", allow_negative_numbers = true)]
    pub now: Option<i64>,

    /// A Hermes config.yaml (default: config.yaml in the Hermes home, when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Seconds to wait for a locked board before giving up (0 to 86400).
    #[arg(long, default_value = "5", value_parser = parse_wait, value_name = "SECONDS")]
    pub wait: Duration,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub board: BoardArgs,

    /// Print the plan, with the exact SQL, and write nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Every board under the Hermes root, one after another, each in its own transaction
    /// (with --check or --dry-run: write nothing); exit with the worst result.
    #[arg(long, conflicts_with = "backup")]
    pub all_boards: bool,

    /// Write nothing; exit 1 when a migration is needed, 0 when the board is current.
    #[arg(long)]
    pub check: bool,

    /// Print a machine-readable report.
    #[arg(long)]
    pub json: bool,

    /// How to bring legacy counter columns over.
    #[arg(long, value_enum, default_value_t = crate::migrate::Strategy::Rename)]
    pub strategy: crate::migrate::Strategy,

    /// Drop legacy counter columns once their values are in the current ones.
    #[arg(long)]
    pub drop_legacy: bool,

    /// Where to write the backup (default: beside the board, named by time and content hash).
    #[arg(long, value_name = "PATH", conflicts_with = "no_backup")]
    pub backup: Option<PathBuf>,

    /// Do not back up before writing.
    #[arg(long)]
    pub no_backup: bool,

    /// Also set every task's consecutive_failures to the counter its run and event history
    /// gives under hermes-agent 0.19.0's rules (and an empty last_failure_error to the
    /// newest failure's error), in the same transaction.
    #[arg(long)]
    pub recount: bool,

    /// With --recount: block every ready or todo task whose recount reaches its breaker
    /// limit, with a gave_up event, as the breaker would have.
    #[arg(long, requires = "recount")]
    pub trip: bool,

    /// With --recount: a Hermes config.yaml for kanban.failure_limit (default: config.yaml
    /// in the Hermes home, when it exists).
    #[arg(long, value_name = "FILE", requires = "recount")]
    pub config: Option<PathBuf>,

    /// With --trip: the Unix time the gave_up events carry (default: now).
    #[arg(
        long,
        value_name = "EPOCH",
        allow_negative_numbers = true,
        requires = "trip"
    )]
    pub now: Option<i64>,

    /// Seconds to wait for the write lock before giving up (0 to 86400).
    #[arg(long, default_value = "5", value_parser = parse_wait, value_name = "SECONDS")]
    pub wait: Duration,
}

/// The longest `--wait`: a day. SQLite counts its busy timeout in milliseconds in a 32-bit
/// integer, so anything past about 24.8 days cannot even be expressed.
pub const MAX_WAIT_SECONDS: f64 = 86_400.0;

/// `--wait SECONDS`: a number of seconds from 0 to a day, fractions allowed.
fn parse_wait(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=MAX_WAIT_SECONDS).contains(&secs) {
        return Err(format!(
            "{s} is out of range: wait between 0 and {MAX_WAIT_SECONDS} seconds (a day)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--outcomes`: one of the kernel's attempt outcomes.
fn parse_outcome(s: &str) -> Result<crate::scenarios::kernel::Outcome, String> {
    use crate::scenarios::kernel::Outcome;
    Outcome::parse(s).ok_or_else(|| {
        format!(
            "unknown outcome {s:?}; outcomes are: {}",
            Outcome::ALL.map(|o| o.as_str()).join(", ")
        )
    })
}
