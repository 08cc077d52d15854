//! Finding, checking and opening a board, and reading its rows under any schema state.
//!
//! Opening never creates: the header is checked first (`header`), and SQLite is then asked
//! for an existing file only, read-only (`mode=ro`) unless the command's purpose is to write.

pub mod fs;
pub mod header;
pub mod locate;
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

/// `file:` URI for a path, escaping the characters a URI gives meaning to.
fn file_uri(path: &Path, read_only: bool, immutable: bool) -> String {
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
    pub fn open(path: &Path, access: Access, wait: Duration) -> Result<Board> {
        let header = header::check(path)?;
        let base = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // Never SQLITE_OPEN_CREATE: a path that vanished between the check and here is an
        // error, not a new empty board (Hermes #30687).
        let flags = match access {
            Access::ReadOnly => base | OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => base | OpenFlags::SQLITE_OPEN_READ_WRITE,
        };
        // A read-only connection to a WAL board creates `-wal` and `-shm` files and cannot
        // remove them. When neither exists, no process has the board open (SQLite removes
        // them when the last connection closes) and the main file holds everything, so it
        // is read as immutable and no file appears beside it.
        let sidecar = |ext: &str| {
            let mut p = path.as_os_str().to_owned();
            p.push(ext);
            Path::new(&p).exists()
        };
        let immutable = access == Access::ReadOnly
            && header.journal == Journal::Wal
            && !sidecar("-wal")
            && !sidecar("-shm");
        let err = |e| Error::from_sqlite(path, e, wait);
        let uri = file_uri(path, access == Access::ReadOnly, immutable);
        let conn = Connection::open_with_flags(uri, flags).map_err(err)?;
        conn.busy_timeout(wait).map_err(err)?;
        // Touch the schema now so a damaged file fails here, with the path in the message.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(err)?;
        Ok(Board {
            path: path.to_path_buf(),
            header,
            conn,
            filesystem: fs::fstype(path),
            wait,
        })
    }

    /// The journal mode SQLite reports (the header tells WAL from the rest).
    pub fn journal_mode(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .map_err(|e| Error::sqlite(&self.path, e))
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
