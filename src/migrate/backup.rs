//! Backups beside the board, named by UTC time and content hash, never overwritten and
//! never duplicated (Hermes #32593 left 88,500 backup files from one loop).
//!
//! The copy is taken while the migration holds the write lock, so it is exactly the state
//! the migration starts from, and the board file is never opened outside SQLite while that
//! lock is held.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `YYYYMMDDTHHMMSSZ` for a Unix time.
pub fn utc_stamp(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = utc_parts(secs);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// Year, month, day, hour, minute and second of a Unix time in UTC (civil-from-days,
/// proleptic Gregorian).
pub fn utc_parts(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Where the backup went, and whether an identical one already existed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Backup {
    pub path: PathBuf,
    pub sha256: String,
    pub reused: bool,
}

fn backup_err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Backup {
        path: path.to_path_buf(),
        source: Box::new(e),
    }
}

/// The board's own file and the side files SQLite keeps beside it: a backup written to
/// any of them would be used (and deleted) by SQLite as the board's journal.
fn is_board_file(board: &Path, dest: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
    };
    let (Some(b), Some(d)) = (resolve(board), resolve(dest)) else {
        return false;
    };
    ["", "-journal", "-wal", "-shm"].iter().any(|ext| {
        let mut side = b.clone().into_os_string();
        side.push(ext);
        Path::new(&side) == d
    })
}

/// `(device, inode)` of a path, from `stat` alone: the file is never opened.
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &Path) -> Option<(u64, u64)> {
    None
}

/// Copy the board into `dest`, a path that must not exist yet, while the migrating
/// connection holds the write lock.
///
/// SQLite's online backup API cannot read through a connection in a write transaction, so
/// the copy reads through a second, read-only SQLite connection: the write lock lets
/// readers in (RESERVED in rollback mode; always under WAL) and keeps writers out, so the
/// copy is exactly the state the migration starts from, WAL content included. It is opened
/// by SQLite directly, never through `std::fs`: SQLite keeps the descriptors of one file
/// in one process together and defers closing them while a lock is held, whereas closing
/// any other descriptor of the board drops every POSIX lock the process holds on it. An
/// earlier version re-checked the board's header here with `std::fs`, lost its RESERVED
/// lock mid-migration, and let a dispatcher's commits land inside the migration and vanish.
fn copy_to(board: &Path, dest: &Path, wait: Duration) -> Result<()> {
    // O_EXCL: never overwrite, and no race with another process choosing the same name.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                backup_err(
                    dest,
                    std::io::Error::new(e.kind(), "file exists; refusing to overwrite"),
                )
            } else {
                backup_err(dest, e)
            }
        })?;
    let result = (|| {
        let source = Connection::open_with_flags(
            crate::board::file_uri(board, true, false),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        source.busy_timeout(wait)?;
        let mut target = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        // The copy has no readers until it is complete; a journal would only slow it.
        target.query_row("PRAGMA journal_mode=OFF", [], |_| Ok(()))?;
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
            // All pages in one step, in one read transaction of the source.
            let step = backup.step(-1)?;
            if step != rusqlite::backup::StepResult::Done {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!("the online backup stopped early ({step:?})")),
                ));
            }
        }
        target.close().map_err(|(_, e)| e)?;
        source.close().map_err(|(_, e)| e)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(dest);
        backup_err(dest, e)
    })
}

/// Back up `board` (whose write lock this process holds) to `explicit`, or beside it as
/// `<name>.<UTC stamp>-<hash8>.bak`, reusing an existing backup with the same content hash.
/// `wait` bounds the copy's wait for its read lock.
pub fn make(board: &Path, explicit: Option<&Path>, wait: Duration) -> Result<Backup> {
    if let Some(dest) = explicit {
        if is_board_file(board, dest) {
            return Err(Error::BackupIsBoardFile {
                path: dest.to_path_buf(),
            });
        }
        copy_to(board, dest, wait)?;
        let sha256 = sha256_file(dest).map_err(|e| {
            let _ = std::fs::remove_file(dest);
            backup_err(dest, e)
        })?;
        return Ok(Backup {
            path: dest.to_path_buf(),
            sha256,
            reused: false,
        });
    }
    // A bare file name backs up beside it, named as plainly as the board was.
    let dir = board.parent().unwrap_or(Path::new(""));
    let listing_dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = board
        .file_name()
        .map_or_else(|| "kanban.db".into(), |n| n.to_string_lossy().into_owned());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let tmp = dir.join(format!(".{name}.{}.backup-tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    copy_to(board, &tmp, wait)?;
    let board_id = identity(board);
    let result = (|| {
        let sha256 = sha256_file(&tmp).map_err(|e| backup_err(&tmp, e))?;
        let short = &sha256[..8];
        // An identical backup already beside the board: keep it, write no second one.
        let suffix = format!("-{short}.bak");
        let prefix = format!("{name}.");
        if let Ok(entries) = std::fs::read_dir(listing_dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                // Never read a link to the board itself: that open and close would drop
                // our locks on it, exactly as re-opening the board would.
                let is_board = board_id.is_some() && identity(&e.path()) == board_id;
                if n.starts_with(&prefix)
                    && n.ends_with(&suffix)
                    && !is_board
                    && sha256_file(&e.path()).is_ok_and(|h| h == sha256)
                {
                    return Ok(Backup {
                        path: e.path(),
                        sha256,
                        reused: true,
                    });
                }
            }
        }
        let dest = dir.join(format!("{name}.{}-{short}.bak", utc_stamp(now)));
        // hard_link fails if dest exists: never overwrite.
        std::fs::hard_link(&tmp, &dest).map_err(|e| backup_err(&dest, e))?;
        Ok(Backup {
            path: dest,
            sha256,
            reused: false,
        })
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Remove a backup this run made, when the migration it guarded did not happen: a failed
/// migrate leaves nothing behind. A reused backup was there before and stays.
pub fn discard(backup: &Backup) {
    if !backup.reused {
        let _ = std::fs::remove_file(&backup.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_formats_known_instants() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_796_064_300), "20261130T184500Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
    }
}
