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
    #[error("no board at {}", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::not_found),
        help(
            "pass --db PATH, or set HERMES_KANBAN_DB / HERMES_HOME; kanban-doctor never creates a board"
        )
    )]
    NotFound { path: PathBuf },

    #[error("no board under {}: neither kanban.db nor any kanban/boards/<slug>/kanban.db", esc(.root))]
    #[diagnostic(
        code(kanban_doctor::board::none),
        help(
            "--all-boards looks under the Hermes root (HERMES_KANBAN_HOME, else the root of \
             HERMES_HOME or ~/.hermes); set it to the install to check, or name one board with --db"
        )
    )]
    NoBoards { root: PathBuf },

    #[error("cannot read {}: {}", esc(.path), esc_err(.source))]
    #[diagnostic(
        code(kanban_doctor::board::io),
        help("check the path and its permissions")
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: {}", esc(.path), esc_err(.source))]
    #[diagnostic(
        code(kanban_doctor::write),
        help("check that the directory exists and is writable, and that the disk has room")
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{} is empty (0 bytes): not a board", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::empty_file),
        help(
            "an empty file is what a failed or interrupted create leaves; restore the board from a backup"
        )
    )]
    EmptyFile { path: PathBuf },

    #[error("{} is not an SQLite database (first bytes: {first_bytes})", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::not_sqlite),
        help("point --db at a Hermes kanban.db file")
    )]
    NotSqlite { path: PathBuf, first_bytes: String },

    #[error(
        "{}: the SQLite header was overwritten by a TLS record at byte offset {offset} (first bytes: {first_bytes})",
        esc(.path)
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

    #[error("{}: corrupt SQLite header: {reason}", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::corrupt_header),
        help("restore the board from a backup")
    )]
    CorruptHeader { path: PathBuf, reason: String },

    #[error(
        "{} is truncated: the header says {expected} bytes ({pages} pages of {page_size}), the file has {actual}",
        esc(.path)
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

    #[error("{} is not a kanban board: {reason}", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::not_a_board),
        help(
            "the file is a valid SQLite database but has no Hermes kanban schema; if it was replaced under a live process (Hermes #83445), restore the real board"
        )
    )]
    NotABoard { path: PathBuf, reason: String },

    #[error("SQLite error on {}: {}", esc(.path), esc(.message))]
    #[diagnostic(
        code(kanban_doctor::board::sqlite),
        help(
            "this is SQLite's own message; kanban-doctor changed nothing. If it persists, report it with the message above"
        )
    )]
    Sqlite {
        path: PathBuf,
        message: String,
        /// SQLite's extended result code, when SQLite gave one.
        code: Option<i32>,
    },

    #[error("{} is damaged: SQLite says {}", esc(.path), esc(.message))]
    #[diagnostic(
        code(kanban_doctor::board::corrupt),
        help(
            "the file's pages do not hold together; run `PRAGMA integrity_check` on a copy of it, and restore the board from a backup (kanban.db.*.bak)"
        )
    )]
    Corrupt { path: PathBuf, message: String },

    #[error("{} has a hot journal: a writer died in the middle of a transaction", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::hot_journal),
        help(
            "the journal beside the board holds the interrupted transaction, and only a read-write open rolls it back; kanban-doctor reads read-only and will not. Let Hermes open the board once (or run `sqlite3 kanban.db 'PRAGMA quick_check'` as the board's owner), then run this again"
        )
    )]
    HotJournal { path: PathBuf },

    #[error("cannot write {}: {}", esc(.path), esc(.message))]
    #[diagnostic(
        code(kanban_doctor::board::read_only),
        help(
            "migrate needs to write the board and to create a journal in its directory; run it as the board's owner, or on a writable copy. Nothing was changed"
        )
    )]
    ReadOnly { path: PathBuf, message: String },

    #[error("cannot open {}: {}", esc(.path), esc(.message))]
    #[diagnostic(
        code(kanban_doctor::board::cannot_open),
        help(
            "check that the file and its directory exist and are readable; a WAL board also needs its `-shm` index, which SQLite creates beside it"
        )
    )]
    CannotOpen { path: PathBuf, message: String },

    #[error(
        "{} is in WAL mode with a `-wal` file but no `-shm` index, and the index cannot be created beside it",
        esc(.path)
    )]
    #[diagnostic(
        code(kanban_doctor::board::wal_index),
        help(
            "the `-wal` file may hold committed transactions that only its index makes readable; make the directory writable, or copy the board together with its `-wal` file to a writable directory and run there"
        )
    )]
    WalIndexUnavailable { path: PathBuf },

    #[error("I/O error on {}: {}", esc(.path), esc(.message))]
    #[diagnostic(
        code(kanban_doctor::board::io_error),
        help(
            "the operating system failed a read or write (a full or failing disk, a lost network mount); check the disk and the kernel log. Nothing was changed"
        )
    )]
    SqliteIo { path: PathBuf, message: String },

    #[error("{} is not a regular file ({kind})", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::not_a_file),
        help("a board is a regular file named kanban.db; point --db at one")
    )]
    NotAFile { path: PathBuf, kind: &'static str },

    #[error("{}: table `tasks` has no `{column}` column", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::board::missing_column),
        help(
            "every Hermes kernel's `tasks` table has it, so this board was made or damaged by another tool; Hermes cannot read it either. Restore it from a backup"
        )
    )]
    MissingColumn { path: PathBuf, column: &'static str },

    #[error("{} failed PRAGMA integrity_check: {}", esc(.path), esc(.detail))]
    #[diagnostic(
        code(kanban_doctor::board::integrity),
        help(
            "kanban-doctor will not write to a damaged board; restore it from a backup or repair it with `sqlite3 .recover`"
        )
    )]
    Integrity { path: PathBuf, detail: String },

    #[error("timed out after {seconds}s waiting for the write lock on {}", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::migrate::locked),
        help(
            "another process holds the board (most likely a running Hermes dispatcher or gateway); stop it, or retry with a longer --wait. Nothing was changed."
        )
    )]
    Locked { path: PathBuf, seconds: f64 },

    #[error(
        "timed out after {seconds}s waiting to read {}: another process holds a lock on it",
        esc(.path)
    )]
    #[diagnostic(
        code(kanban_doctor::board::busy),
        help(
            "a Hermes dispatcher or gateway is most likely writing the board; retry, or wait longer with --wait"
        )
    )]
    Busy { path: PathBuf, seconds: f64 },

    #[error(
        "timed out after {seconds}s waiting for readers of {} to finish, so the migration could not commit; it was rolled back",
        esc(.path)
    )]
    #[diagnostic(
        code(kanban_doctor::migrate::commit_blocked),
        help(
            "a rollback-journal board can only be committed when no process is reading it (a dispatcher, a `hermes kanban` command, another kanban-doctor); the board is unchanged. Retry when it is quieter, or with a longer --wait"
        )
    )]
    CommitBlocked { path: PathBuf, seconds: f64 },

    #[error("the migration step `{step}` failed: {}", esc(.message))]
    #[diagnostic(
        code(kanban_doctor::migrate::step_failed),
        help(
            "SQLite refused the change, most often because a view or trigger names the column (drop or rewrite it first, or migrate without --drop-legacy); the migration was rolled back and the board is unchanged"
        )
    )]
    StepFailed { step: String, message: String },

    #[error(
        "{} cannot be migrated: it lacks {columns}, which are NOT NULL without a default and so cannot be added to an existing table",
        esc(.path)
    )]
    #[diagnostic(
        code(kanban_doctor::migrate::cannot_add_columns),
        help(
            "every Hermes kernel creates these columns with the table, so this board was made or damaged by another tool; rebuild the table with them (SQLite's 12-step ALTER procedure) or restore the board from a backup. Nothing was changed"
        )
    )]
    CannotAddColumns { path: PathBuf, columns: String },

    #[error("refusing to write the backup to {}: SQLite uses that file for the board itself", esc(.path))]
    #[diagnostic(
        code(kanban_doctor::migrate::backup_is_board_file),
        help(
            "the board, its `-journal`, `-wal` and `-shm` belong to SQLite; choose another --backup path. Nothing was changed"
        )
    )]
    BackupIsBoardFile { path: PathBuf },

    #[error("verification failed before commit, rolled back: {}", esc(.detail))]
    #[diagnostic(
        code(kanban_doctor::migrate::verify_failed),
        help(
            "the board is unchanged; please report this with the board's schema (`sqlite3 kanban.db .schema`)"
        )
    )]
    VerifyFailed { detail: String },

    #[error("cannot write the backup {}: {}", esc(.path), esc_err(.source))]
    #[diagnostic(
        code(kanban_doctor::migrate::backup),
        help("choose another location with --backup PATH; nothing was changed")
    )]
    Backup {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("cannot read config {}: {}", esc(.path), esc_err(.source))]
    #[diagnostic(code(kanban_doctor::config::read), help("check the --config path"))]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}:{line}:{column}: config does not parse: {}", esc(.path), esc(.message))]
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

    #[error(
        "{}: kanban.diagnostics cannot be read as Hermes reads it: {}",
        esc(.path),
        esc(.message)
    )]
    #[diagnostic(
        code(kanban_doctor::config::diagnostics),
        help(
            "give kanban.diagnostics as a mapping of setting: value; Hermes calls dict() on \
             it, which fails on this value too"
        )
    )]
    ConfigDiagnostics { path: PathBuf, message: String },

    #[error("no task {} on this board", esc(.id))]
    #[diagnostic(
        code(kanban_doctor::diagnose::unknown_task),
        help("list task ids with `hermes kanban list`")
    )]
    UnknownTask { id: String },

    #[error("invalid board slug \"{}\"", esc(.slug))]
    #[diagnostic(
        code(kanban_doctor::board::bad_slug),
        help(
            "a slug is 1-64 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit"
        )
    )]
    BadSlug { slug: String },

    #[error("{}", esc(.message))]
    #[diagnostic(code(kanban_doctor::usage))]
    Usage { message: String },

    /// Writing to stdout failed. Only for stdout: `main` treats a broken pipe here as the
    /// reader's choice (exit 0), so no other I/O error may become this variant.
    #[error("cannot write output: {}", esc_err(.0))]
    #[diagnostic(code(kanban_doctor::output))]
    Output(#[source] std::io::Error),

    #[error("cannot use a temporary file in {}: {}", esc(.dir), esc_err(.source))]
    #[diagnostic(
        code(kanban_doctor::temp_file),
        help(
            "kanban-doctor keeps a report (or scratch boards) in the temporary directory until it is complete; point TMPDIR at a writable directory with free space. Nothing was changed"
        )
    )]
    TempFile {
        /// The temporary directory in use (`TMPDIR`, else `/tmp`).
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the board {} WAS migrated, but the report could not be written: {}",
        esc(.path),
        esc_err(.source)
    )]
    #[diagnostic(
        code(kanban_doctor::migrate::report_unwritten),
        help("{}", .backup.as_deref().map_or_else(
            || "the migration is committed and needs nothing more; run `kanban-doctor migrate --check` to confirm".to_string(),
            |b| format!("the migration is committed; its backup is {}. Run `kanban-doctor migrate --check` to confirm", esc(b)),
        ))
    )]
    ReportUnwritten {
        path: PathBuf,
        backup: Option<PathBuf>,
        source: std::io::Error,
    },
}

/// A path or message for a human: escaped, since paths and SQLite's messages can carry
/// text from the board or the environment (an OSC 52 sequence in a file name).
fn esc(v: &(impl EscapeArg + ?Sized)) -> String {
    v.escaped()
}

fn esc_err(e: &dyn std::fmt::Display) -> String {
    crate::escape::line(&e.to_string()).into_owned()
}

trait EscapeArg {
    fn escaped(&self) -> String;
}

impl EscapeArg for PathBuf {
    fn escaped(&self) -> String {
        crate::escape::path(self)
    }
}

impl EscapeArg for std::path::Path {
    fn escaped(&self) -> String {
        crate::escape::path(self)
    }
}

impl EscapeArg for String {
    fn escaped(&self) -> String {
        crate::escape::line(self).into_owned()
    }
}

impl Error {
    /// A temporary file or directory could not be created, written or read back.
    pub fn temp_file(source: std::io::Error) -> Self {
        Error::TempFile {
            dir: std::env::temp_dir(),
            source,
        }
    }

    /// A SQLite error, classified: a bounded lock wait that ran out, a damaged file, a hot
    /// journal, a read-only file, an I/O failure, or SQLite's own message as a last resort.
    pub fn from_sqlite(
        path: &std::path::Path,
        source: rusqlite::Error,
        wait: std::time::Duration,
    ) -> Self {
        use rusqlite::ErrorCode as C;
        use rusqlite::ffi;
        let path = path.to_path_buf();
        let message = sqlite_message(&source);
        let rusqlite::Error::SqliteFailure(f, _) = &source else {
            return Error::Sqlite {
                path,
                message,
                code: None,
            };
        };
        match (f.code, f.extended_code) {
            (C::DatabaseBusy | C::DatabaseLocked, _) => Error::Busy {
                path,
                seconds: wait.as_secs_f64(),
            },
            (_, ffi::SQLITE_READONLY_ROLLBACK) => Error::HotJournal { path },
            (C::ReadOnly, _) => Error::ReadOnly { path, message },
            (C::DatabaseCorrupt | C::NotADatabase, _) => Error::Corrupt { path, message },
            (C::CannotOpen, _) => Error::CannotOpen { path, message },
            (C::SystemIoFailure | C::DiskFull, _) => Error::SqliteIo { path, message },
            (_, code) => Error::Sqlite {
                path,
                message,
                code: Some(code),
            },
        }
    }

    /// A SQLite error with no lock wait in play.
    pub fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> Self {
        Self::from_sqlite(path, source, std::time::Duration::ZERO)
    }
}

/// SQLite's message, with its extended code where it has one.
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) => {
            format!("{msg} (SQLite code {})", f.extended_code)
        }
        rusqlite::Error::SqliteFailure(f, None) => {
            format!("{f} (SQLite code {})", f.extended_code)
        }
        other => other.to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
