//! Arbitrary bytes as a board file, through the header check that runs before SQLite.
//!
//! `check` must answer Ok or one of the header errors, never panic; an Ok header must be
//! consistent with the bytes and with the file's size.
//!
//! Raw bytes alone almost never get past the page-size check (a valid board is at least
//! 512 bytes with a power of two at bytes 16-17), so each input is also checked a second
//! time as a "near board": the magic, then the input, with the fields its first byte
//! selects forced valid and the file padded to the length its header asks for.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kanban_doctor::fuzzing::{Journal, header};
use kanban_doctor::error::Error;
use libfuzzer_sys::fuzz_target;

/// One temp file per process, rewritten for every input and removed after it. In
/// /dev/shm where there is one: on a disk, ext4 flushes a file truncated and rewritten in
/// place, which made every input cost milliseconds.
fn board_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!(
            "kanban-doctor-fuzz-header-{}.db",
            std::process::id()
        ))
    })
}

const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The largest near board: 8 pages of 64 KiB would be 512 KiB, too slow to write per input.
const MAX_NEAR: usize = 256 * 1024;

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The magic and `rest` of the input as a header, with the first byte choosing fixes:
/// bit 0 a valid page size (bits 1-3 pick 512 << n, or 65536 as its encoding 1), bit 4 a
/// valid journal pair (bit 5 picks WAL), bit 6 an authoritative page count of at most 7,
/// bit 7 padding to the size the header asks for.
fn near_board(data: &[u8]) -> Option<Vec<u8>> {
    let (&ctl, rest) = data.split_first()?;
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(rest);
    if file.len() < 100 {
        file.resize(100, 0);
    }
    if ctl & 1 != 0 {
        let n = (ctl >> 1) & 7;
        let raw: u16 = if n == 7 { 1 } else { 512 << n };
        file[16..18].copy_from_slice(&raw.to_be_bytes());
    }
    if ctl & 0x10 != 0 {
        let v = if ctl & 0x20 != 0 { 2 } else { 1 };
        file[18] = v;
        file[19] = v;
    }
    if ctl & 0x40 != 0 {
        let counter = be32(&file, 24);
        file[92..96].copy_from_slice(&counter.to_be_bytes());
        let pages = be32(&file, 28) % 8;
        file[28..32].copy_from_slice(&pages.to_be_bytes());
    }
    if ctl & 0x80 != 0 {
        let raw = u16::from_be_bytes([file[16], file[17]]);
        let page = if raw == 1 { 65536 } else { usize::from(raw) };
        let pages = if be32(&file, 92) == be32(&file, 24) && be32(&file, 28) > 0 {
            be32(&file, 28) as usize
        } else {
            1
        };
        let want = page.saturating_mul(pages).min(MAX_NEAR);
        if file.len() < want {
            file.resize(want, 0);
        }
    }
    Some(file)
}

/// Check `data` as a file at `path`, and that the answer agrees with the bytes.
fn check_file(path: &Path, data: &[u8]) {
    std::fs::write(path, data).expect("write the temp board");
    let result = header::check(path);
    std::fs::remove_file(path).expect("remove the temp file");
    match result {
        Ok(h) => {
            assert!(data.starts_with(MAGIC) && data.len() >= 100);
            assert!(h.page_size.is_power_of_two(), "page size {}", h.page_size);
            assert!(
                (512..=65536).contains(&h.page_size),
                "page size {}",
                h.page_size
            );
            let raw = u16::from_be_bytes([data[16], data[17]]);
            assert_eq!(h.page_size, if raw == 1 { 65536 } else { u64::from(raw) });
            assert_eq!(h.file_size, data.len() as u64);
            let bytes = h
                .page_count
                .checked_mul(h.page_size)
                .expect("page_count * page_size overflows");
            assert!(bytes <= h.file_size, "{h:?}");
            assert!(h.page_size <= h.file_size, "{h:?}");
            if be32(data, 92) == be32(data, 24) && be32(data, 28) > 0 {
                assert_eq!(h.page_count, u64::from(be32(data, 28)));
            } else {
                assert_eq!(h.page_count, h.file_size / h.page_size);
            }
            let journal = match h.journal {
                Journal::Rollback => (1, 1),
                Journal::Wal => (2, 2),
            };
            assert_eq!((data[18], data[19]), journal);
        }
        Err(e) => {
            match &e {
                Error::EmptyFile { .. } => assert!(data.is_empty()),
                Error::NotSqlite { .. } | Error::TlsOverwrite { .. } => {
                    assert!(!data.is_empty() && !data.starts_with(MAGIC))
                }
                Error::CorruptHeader { .. } => assert!(data.starts_with(MAGIC)),
                Error::Truncated {
                    expected,
                    actual,
                    page_size,
                    ..
                } => {
                    assert!(data.starts_with(MAGIC) && data.len() >= 100);
                    assert_eq!(*actual, data.len() as u64);
                    assert!(expected > actual || actual < page_size, "{e:?}");
                }
                other => panic!("unexpected error kind for a regular file: {other:?}"),
            }
            // The message is built from the same fields; rendering it must not panic.
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let path = board_path();
    check_file(path, data);
    if let Some(near) = near_board(data) {
        check_file(path, &near);
    }
});
