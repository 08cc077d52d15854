//! The tool's own failures: cannot find, open, trust or change a board, or read a config.
//!
//! These are kept apart from findings (diagnostics about tasks, which are data). Every
//! variant has a stable code and a help line saying what the operator can do, and every
//! one maps to exit code 2.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error("no board at {path}")]
    #[diagnostic(
        code(kanban_doctor::board::not_found),
        help(
            "pass --db PATH, or set HERMES_KANBAN_DB / HERMES_HOME; kanban-doctor never creates a board"
        )
    )]
    NotFound { path: PathBuf },

    #[error("cannot read {path}: {source}")]
    #[diagnostic(
        code(kanban_doctor::board::io),
        help("check the path and its permissions")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is empty (0 bytes): not a board")]
    #[diagnostic(
        code(kanban_doctor::board::empty_file),
        help(
            "an empty file is what a failed or interrupted create leaves; restore the board from a backup"
        )
    )]
    EmptyFile { path: PathBuf },

    #[error("{path} is not an SQLite database (first bytes: {first_bytes})")]
    #[diagnostic(
        code(kanban_doctor::board::not_sqlite),
        help("point --db at a Hermes kanban.db file")
    )]
    NotSqlite { path: PathBuf, first_bytes: String },

    #[error(
        "{path}: the SQLite header was overwritten by a TLS record at byte offset {offset} (first bytes: {first_bytes})"
    )]
    #[diagnostic(
        code(kanban_doctor::board::tls_overwrite),
        help(
            "this is the corruption seen in Hermes #29507; the file is damaged beyond repair here, restore it from a backup (kanban.db.*.bak)"
        )
    )]
    TlsOverwrite {
        path: PathBuf,
        offset: usize,
        first_bytes: String,
    },

    #[error("{path}: corrupt SQLite header: {reason}")]
    #[diagnostic(
        code(kanban_doctor::board::corrupt_header),
        help("restore the board from a backup")
    )]
    CorruptHeader { path: PathBuf, reason: String },

    #[error(
        "{path} is truncated: the header says {expected} bytes ({pages} pages of {page_size}), the file has {actual}"
    )]
    #[diagnostic(
        code(kanban_doctor::board::truncated),
        help("the file was cut short (a torn copy or a full disk); restore it from a backup")
    )]
    Truncated {
        path: PathBuf,
        pages: u64,
        page_size: u64,
        expected: u64,
        actual: u64,
    },

    #[error("{path} is not a kanban board: {reason}")]
    #[diagnostic(
        code(kanban_doctor::board::not_a_board),
        help(
            "the file is a valid SQLite database but has no Hermes kanban schema; if it was replaced under a live process (Hermes #83445), restore the real board"
        )
    )]
    NotABoard { path: PathBuf, reason: String },

    #[error("SQLite error on {path}: {source}")]
    #[diagnostic(
        code(kanban_doctor::board::sqlite),
        help("run `PRAGMA integrity_check` on a copy of the board")
    )]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{path} failed PRAGMA integrity_check: {detail}")]
    #[diagnostic(
        code(kanban_doctor::board::integrity),
        help(
            "kanban-doctor will not write to a damaged board; restore it from a backup or repair it with `sqlite3 .recover`"
        )
    )]
    Integrity { path: PathBuf, detail: String },

    #[error("timed out after {seconds}s waiting for the write lock on {path}")]
    #[diagnostic(
        code(kanban_doctor::migrate::locked),
        help(
            "another process holds the board (most likely a running Hermes dispatcher or gateway); stop it, or retry with a longer --wait. Nothing was changed."
        )
    )]
    Locked { path: PathBuf, seconds: f64 },

    #[error(
        "timed out after {seconds}s waiting to read {path}: another process holds a lock on it"
    )]
    #[diagnostic(
        code(kanban_doctor::board::busy),
        help(
            "a Hermes dispatcher or gateway is most likely writing the board; retry, or wait longer with --wait"
        )
    )]
    Busy { path: PathBuf, seconds: f64 },

    #[error("verification failed before commit, rolled back: {detail}")]
    #[diagnostic(
        code(kanban_doctor::migrate::verify_failed),
        help(
            "the board is unchanged; please report this with the board's schema (`sqlite3 kanban.db .schema`)"
        )
    )]
    VerifyFailed { detail: String },

    #[error("cannot write the backup {path}: {source}")]
    #[diagnostic(
        code(kanban_doctor::migrate::backup),
        help("choose another location with --backup PATH; nothing was changed")
    )]
    Backup {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("cannot read config {path}: {source}")]
    #[diagnostic(code(kanban_doctor::config::read), help("check the --config path"))]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}:{line}:{column}: config does not parse: {message}")]
    #[diagnostic(
        code(kanban_doctor::config::parse),
        help("fix the YAML at that line and column")
    )]
    ConfigParse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("no task {id} on this board")]
    #[diagnostic(
        code(kanban_doctor::diagnose::unknown_task),
        help("list task ids with `hermes kanban list`")
    )]
    UnknownTask { id: String },

    #[error("invalid board slug {slug:?}")]
    #[diagnostic(
        code(kanban_doctor::board::bad_slug),
        help(
            "a slug is 1-64 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit"
        )
    )]
    BadSlug { slug: String },

    #[error("{message}")]
    #[diagnostic(code(kanban_doctor::usage))]
    Usage { message: String },

    #[error("cannot write output: {0}")]
    #[diagnostic(code(kanban_doctor::output))]
    Output(#[from] std::io::Error),
}

impl Error {
    /// A valid SQLite file without the kanban schema (Hermes #83445: replaced under a live
    /// process), told apart from an empty schema.
    pub fn not_a_board(path: &std::path::Path, snap: &crate::board::schema::Snapshot) -> Self {
        Error::NotABoard {
            path: path.to_path_buf(),
            reason: if snap.tables.is_empty() {
                "the schema is empty".into()
            } else {
                "it has no `tasks` table".into()
            },
        }
    }

    /// A SQLite error, reported as a bounded lock wait when that is what it was.
    pub fn from_sqlite(
        path: &std::path::Path,
        source: rusqlite::Error,
        wait: std::time::Duration,
    ) -> Self {
        match &source {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                Error::Busy {
                    path: path.to_path_buf(),
                    seconds: wait.as_secs_f64(),
                }
            }
            _ => Error::sqlite(path, source),
        }
    }

    pub fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> Self {
        Error::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
