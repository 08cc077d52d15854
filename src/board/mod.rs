//! Finding, checking and opening a board, and reading its rows under any schema state.
//!
//! Opening never creates: the header is checked first (`header`), and SQLite is then asked
//! for an existing file only, read-only (`mode=ro`) unless the command's purpose is to write.

pub mod fs;
pub mod header;
pub mod history;
pub mod reference;
pub mod rows;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
pub use header::{Header, Journal};

/// An open board: the file, what its header says, and a connection.
pub struct Board {
    pub path: PathBuf,
    pub header: Header,
    pub conn: Connection,
    /// The filesystem type, where the platform tells.
    pub filesystem: Option<String>,
    /// How long any lock is waited for.
    pub wait: Duration,
}

/// How a command may use the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// Whether `board<ext>` exists (a `stat`, never an open).
fn sidecar(board: &Path, ext: &str) -> bool {
    let mut p = board.as_os_str().to_owned();
    p.push(ext);
    Path::new(&p).exists()
}

/// SQLite could not open or create a file it needs (the WAL index, in practice).
fn cannot_open(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    )
}

/// `file:` URI for a path, escaping the characters a URI gives meaning to.
pub(crate) fn file_uri(path: &Path, read_only: bool, immutable: bool) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for c in abs.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    if read_only {
        uri.push_str("?mode=ro");
    }
    if immutable {
        uri.push_str("&immutable=1");
    }
    uri
}

impl Board {
    /// Check the header, then open the existing file. `wait` bounds every lock wait.
    ///
    /// The header is read with `std::fs` here, before any connection exists: once SQLite
    /// holds a lock on the board, no code may open (and so close) the file outside SQLite,
    /// because closing any descriptor drops every POSIX lock the process holds on it.
    pub fn open(path: &Path, access: Access, wait: Duration) -> Result<Board> {
        let header = header::check(path)?;
        let base = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Never SQLITE_OPEN_CREATE: a path that vanished between the check and here is an
        // error, not a new empty board (Hermes #30687).
        let flags = match access {
            Access::ReadOnly => base | OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => base | OpenFlags::SQLITE_OPEN_READ_WRITE,
        };
        let read_only = access == Access::ReadOnly;
        // An idle WAL board (no `-wal`, no `-shm`: no process has it open) is read through a
        // read-write connection fenced by `query_only`: it takes the same locks as any
        // reader, and when it closes as the last connection SQLite removes the `-wal` and
        // `-shm` it had to create, so a read leaves nothing beside the board. A read-only
        // connection could not remove them. `immutable=1` is never used on a live board:
        // it takes no locks, and a writer arriving mid-scan would tear what it reads.
        let idle_wal = read_only
            && header.journal == Journal::Wal
            && !sidecar(path, "-wal")
            && !sidecar(path, "-shm");
        let flags = if idle_wal {
            base | OpenFlags::SQLITE_OPEN_READ_WRITE
        } else {
            flags
        };
        let connect = |immutable: bool| -> rusqlite::Result<Connection> {
            let uri_ro = read_only && (immutable || !idle_wal);
            let flags = if immutable {
                base | OpenFlags::SQLITE_OPEN_READ_ONLY
            } else {
                flags
            };
            let conn = Connection::open_with_flags(file_uri(path, uri_ro, immutable), flags)?;
            conn.busy_timeout(wait)?;
            if read_only {
                conn.pragma_update(None, "query_only", true)?;
            }
            // Touch the schema now so a damaged file fails here, with the path in the message.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
            Ok(conn)
        };
        let err = |e| Error::from_sqlite(path, e, wait);
        let conn = match connect(false) {
            Ok(conn) => conn,
            Err(e) if read_only && header.journal == Journal::Wal && cannot_open(&e) => {
                // SQLite could not create the WAL index beside the board (a read-only
                // directory). With no `-wal` file either, nobody can write this board: a
                // WAL writer must create `-wal` in that same directory. Only then is the
                // file immutable in fact, and read as such.
                if sidecar(path, "-wal") {
                    return Err(Error::WalIndexUnavailable {
                        path: path.to_path_buf(),
                    });
                }
                connect(true).map_err(err)?
            }
            Err(e) => return Err(err(e)),
        };
        Ok(Board {
            path: path.to_path_buf(),
            header,
            conn,
            filesystem: fs::fstype(path),
            wait,
        })
    }

    pub fn sql_err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| Error::from_sqlite(&self.path, e, self.wait)
    }

    /// A warning when the board's journal mode is unsafe on its filesystem.
    pub fn filesystem_warning(&self) -> Option<String> {
        let fs = self.filesystem.as_deref()?;
        (self.header.journal == Journal::Wal && fs::is_network(fs)).then(|| {
            format!(
                "{} is in WAL mode on a {fs} filesystem: WAL is unsafe on network and FUSE \
                 filesystems and has corrupted boards (Hermes #22032); keep the board on a local disk",
                self.path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes_query_and_fragment_characters() {
        assert_eq!(
            file_uri(Path::new("/a/b?c#d%e.db"), true, false),
            "file:/a/b%3fc%23d%25e.db?mode=ro"
        );
        assert_eq!(file_uri(Path::new("/x.db"), false, false), "file:/x.db");
        assert_eq!(
            file_uri(Path::new("/x.db"), true, true),
            "file:/x.db?mode=ro&immutable=1"
        );
    }
}
