//! The hostile corpus (`fixtures/hostile/`) through `audit`, `audit --deep --with-diagnose`
//! and `explain`: a clear exit code (0, 1 or 2) on every board, never a panic, and the
//! fixture left as it was (each runs on a copy with its side files).

mod common;

use common::*;

fn boards() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(fixture("hostile"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "db"))
        .collect();
    out.sort();
    out
}

/// A copy of `board` and its `-wal`/`-journal` side files in a fresh directory.
fn copy(board: &std::path::Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let name = board.file_name().unwrap().to_str().unwrap().to_string();
    for suffix in ["", "-wal", "-journal"] {
        let src = board.with_file_name(format!("{name}{suffix}"));
        if src.exists() {
            std::fs::copy(&src, dir.path().join(format!("{name}{suffix}"))).unwrap();
        }
    }
    let dst = dir.path().join(name);
    (dir, dst)
}

fn first_task(board: &std::path::Path) -> Option<String> {
    let conn = rusqlite::Connection::open_with_flags(
        board,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.query_row(
        "SELECT id FROM tasks WHERE typeof(id) = 'text' AND id != '' ORDER BY rowid LIMIT 1",
        [],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn audit_and_explain_never_panic_on_the_hostile_corpus() {
    let mut ran = 0;
    for board in boards() {
        let (_dir, db) = copy(&board);
        let task = first_task(&db);
        let mut runs: Vec<Vec<String>> = vec![
            vec!["audit".into(), "--json".into()],
            vec!["audit".into(), "--deep".into(), "--with-diagnose".into()],
        ];
        if let Some(t) = task {
            runs.push(vec!["explain".into(), t.clone()]);
            runs.push(vec!["explain".into(), t, "--json".into()]);
        }
        for args in runs {
            let out = cmd()
                .arg("--db")
                .arg(&db)
                .args(&args)
                .args(["--now", "1796100000", "--wait", "0"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "{} {args:?}: exit {code:?}\n{stderr}",
                board.display()
            );
            assert!(
                !stderr.contains("panicked"),
                "{} {args:?}: {stderr}",
                board.display()
            );
            if code == Some(2) {
                assert!(
                    stderr.contains("kanban_doctor::"),
                    "{} {args:?}: an error has its code: {stderr}",
                    board.display()
                );
            } else if args.contains(&"--json".to_string()) {
                serde_json::from_slice::<serde_json::Value>(&out.stdout)
                    .unwrap_or_else(|e| panic!("{} {args:?}: not JSON: {e}", board.display()));
            }
            ran += 1;
        }
    }
    assert!(ran > 30, "{ran} runs");
}
