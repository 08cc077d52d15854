//! Backups beside the board, named by UTC time and content hash, never overwritten and
//! never duplicated (Hermes #32593 left 88,500 backup files from one loop).
//!
//! The copy is taken while the migration holds the write lock, so it is exactly the state
//! the migration starts from.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `YYYYMMDDTHHMMSSZ` for a Unix time (civil-from-days, proleptic Gregorian).
pub fn utc_stamp(secs: i64) -> String {
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
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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

/// Copy the board to `dest`, which must not exist yet, through a separate read-only
/// connection: the migrating connection holds the write lock, which still lets readers
/// in (RESERVED in rollback mode, always under WAL), so the copy is exactly the state the
/// migration starts from, WAL content included. `VACUUM INTO` writes one compact file.
fn copy_to(board: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(backup_err(
            dest,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "file exists; refusing to overwrite",
            ),
        ));
    }
    let reader = crate::board::Board::open(
        board,
        crate::board::Access::ReadOnly,
        std::time::Duration::from_secs(5),
    )?;
    let target = dest.to_string_lossy().into_owned();
    reader
        .conn
        .execute("VACUUM INTO ?1", [&target])
        .map_err(|e| backup_err(dest, e))?;
    Ok(())
}

/// Back up to `explicit`, or beside `board` as `<name>.<UTC stamp>-<hash8>.bak`, reusing an
/// existing backup with the same content hash.
pub fn make(board: &Path, explicit: Option<&Path>) -> Result<Backup> {
    if let Some(dest) = explicit {
        copy_to(board, dest)?;
        let sha256 = sha256_file(dest).map_err(|e| backup_err(dest, e))?;
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
    copy_to(board, &tmp)?;
    let result = (|| {
        let sha256 = sha256_file(&tmp).map_err(|e| backup_err(&tmp, e))?;
        let short = &sha256[..8];
        // An identical backup already beside the board: keep it, write no second one.
        let suffix = format!("-{short}.bak");
        let prefix = format!("{name}.");
        if let Ok(entries) = std::fs::read_dir(listing_dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(&prefix)
                    && n.ends_with(&suffix)
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
