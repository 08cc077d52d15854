//! The 100-byte SQLite header, checked before SQLite ever sees the file.
//!
//! SQLite reports a damaged header as a generic "file is not a database", and with the
//! create flag it would happily start a new empty board in a zero-byte file (Hermes #30687).
//! Reading the header ourselves lets each kind of damage get its own message: an empty
//! file, a foreign file, the TLS record that overwrote boards in Hermes #29507, a header
//! that contradicts itself, and a file shorter than its page count.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// How the board journals writes, from header bytes 18 and 19.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Journal {
    Rollback,
    Wal,
}

impl std::fmt::Display for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Journal::Rollback => "rollback journal",
            Journal::Wal => "WAL",
        })
    }
}

/// What the header says, once it has been found consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub page_size: u64,
    pub page_count: u64,
    pub file_size: u64,
    pub journal: Journal,
    /// `SQLITE_VERSION_NUMBER` of the library that last wrote the file (bytes 96..100),
    /// e.g. 3051003 for 3.51.3.
    pub sqlite_version: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A TLS record header (content type 20..23, version 3.x, a plausible length) at `offset`.
fn tls_record_at(data: &[u8], offset: usize) -> bool {
    let Some(rec) = data.get(offset..offset + 5) else {
        return false;
    };
    let len = u16::from_be_bytes([rec[3], rec[4]]);
    (0x14..=0x17).contains(&rec[0]) && rec[1] == 3 && rec[2] <= 4 && len > 0 && len <= 18432
}

/// What a non-regular file is, for the message.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Validate the header of the file at `path` without opening it with SQLite.
pub fn check(path: &Path) -> Result<Header> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            io(e)
        }
    })?;
    // Only a regular file can be a board. Opening a FIFO would block until a writer
    // appears, and a device reads forever (/dev/zero) or reads nothing (/dev/null).
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            kind: file_kind(&meta.file_type()),
        });
    }
    let file_size = meta.len();
    if file_size == 0 {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let mut head = Vec::with_capacity(100);
    std::fs::File::open(path)
        .map_err(io)?
        .take(100)
        .read_to_end(&mut head)
        .map_err(io)?;
    let first_bytes = hex(&head[..head.len().min(32)]);
    if !head.starts_with(MAGIC) {
        let offset = if head.starts_with(b"SQLit") && tls_record_at(&head, 5) {
            Some(5)
        } else if tls_record_at(&head, 0) {
            Some(0)
        } else {
            None
        };
        return Err(match offset {
            Some(offset) => Error::TlsOverwrite {
                path: path.to_path_buf(),
                offset,
                first_bytes,
            },
            None => Error::NotSqlite {
                path: path.to_path_buf(),
                first_bytes,
            },
        });
    }
    let corrupt = |reason: String| Error::CorruptHeader {
        path: path.to_path_buf(),
        reason,
    };
    if head.len() < 100 {
        return Err(corrupt(format!(
            "only {} header bytes, expected 100",
            head.len()
        )));
    }
    let raw_page = u16::from_be_bytes([head[16], head[17]]);
    let page_size: u64 = if raw_page == 1 {
        65536
    } else {
        u64::from(raw_page)
    };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(corrupt(format!(
            "page size {raw_page} is not a power of two between 512 and 65536"
        )));
    }
    let journal = match (head[18], head[19]) {
        (1, 1) => Journal::Rollback,
        (2, 2) => Journal::Wal,
        (w, r) => {
            return Err(corrupt(format!(
                "unknown file format versions {w}/{r} at bytes 18-19"
            )));
        }
    };
    let be32 = |i: usize| {
        u64::from(u32::from_be_bytes([
            head[i],
            head[i + 1],
            head[i + 2],
            head[i + 3],
        ]))
    };
    // The in-header page count is only authoritative when its version stamp matches the
    // change counter; older writers left it stale, and SQLite then trusts the file size.
    let page_count = if be32(92) == be32(24) && be32(28) > 0 {
        be32(28)
    } else {
        file_size / page_size
    };
    let expected = page_count * page_size;
    if file_size < page_size || expected > file_size {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            pages: page_count,
            page_size,
            expected,
            actual: file_size,
        });
    }
    Ok(Header {
        page_size,
        page_count,
        file_size,
        journal,
        sqlite_version: u32::from_be_bytes([head[96], head[97], head[98], head[99]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_records_are_recognised_at_both_offsets() {
        assert!(tls_record_at(&[0x17, 3, 3, 0, 0x40], 0));
        assert!(tls_record_at(b"SQLit\x16\x03\x01\x02\x00", 5));
        assert!(!tls_record_at(&[0x17, 3, 3, 0, 0], 0));
        assert!(!tls_record_at(b"SQLite format 3\0", 0));
    }
}
