//! Finding the board file the way Hermes does, so `kanban-doctor` with no `--db` looks at
//! the same `kanban.db` as `hermes kanban` on the same machine.
//!
//! Order: `--db`; `HERMES_KANBAN_DB`; else a slug (`--board`, `HERMES_KANBAN_BOARD`, the slug
//! in `<root>/kanban/current` when that board exists, `default`) under the root
//! (`HERMES_KANBAN_HOME`, else `HERMES_HOME` — lifted out of `profiles/<name>` — else
//! `~/.hermes`). `default` lives at `<root>/kanban.db`, any other slug at
//! `<root>/kanban/boards/<slug>/kanban.db`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home_dir().join(rest),
        None if p == "~" => home_dir(),
        None => PathBuf::from(p),
    }
}

fn home_dir() -> PathBuf {
    std::env::home_dir().unwrap_or_else(|| PathBuf::from("/"))
}

/// The Hermes home: `HERMES_HOME`, else `~/.hermes`. This is where `config.yaml` lives.
pub fn hermes_home() -> PathBuf {
    env_nonempty("HERMES_HOME").map_or_else(|| home_dir().join(".hermes"), PathBuf::from)
}

/// The root that anchors boards: shared across profiles by design.
pub fn kanban_root() -> PathBuf {
    if let Some(h) = env_nonempty("HERMES_KANBAN_HOME") {
        return expand_home(&h);
    }
    let home = hermes_home();
    // <root>/profiles/<name> → <root>: every profile sees the same board.
    match home.parent() {
        Some(parent) if parent.file_name().is_some_and(|n| n == "profiles") => {
            parent.parent().map_or(home.clone(), Path::to_path_buf)
        }
        _ => home,
    }
}

/// Lower-case, trim and validate a board slug; `None` for an empty one.
pub fn normalize_slug(slug: &str) -> Result<Option<String>> {
    let s = slug.trim().to_lowercase();
    if s.is_empty() {
        return Ok(None);
    }
    let valid = s.len() <= 64
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(Some(s))
    } else {
        Err(Error::BadSlug {
            slug: slug.to_string(),
        })
    }
}

fn board_exists(root: &Path, slug: &str) -> bool {
    if slug == "default" {
        return true;
    }
    let dir = root.join("kanban").join("boards").join(slug);
    dir.join("board.json").exists() || dir.join("kanban.db").exists()
}

fn db_path_for(root: &Path, slug: &str) -> PathBuf {
    if slug == "default" {
        root.join("kanban.db")
    } else {
        root.join("kanban")
            .join("boards")
            .join(slug)
            .join("kanban.db")
    }
}

/// Resolve the board file. Does not check that it exists: opening does, and says so.
pub fn resolve(db: Option<&Path>, board: Option<&str>) -> Result<PathBuf> {
    if let Some(p) = db {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env_nonempty("HERMES_KANBAN_DB") {
        return Ok(expand_home(&p));
    }
    let root = kanban_root();
    if let Some(flag) = board {
        let slug = normalize_slug(flag)?.unwrap_or_else(|| "default".into());
        return Ok(db_path_for(&root, &slug));
    }
    // Stale or malformed slugs fall through to the next layer, as in Hermes.
    let from_env = env_nonempty("HERMES_KANBAN_BOARD");
    let from_file = std::fs::read_to_string(root.join("kanban").join("current")).ok();
    for candidate in [from_env, from_file].into_iter().flatten() {
        if let Ok(Some(slug)) = normalize_slug(&candidate)
            && board_exists(&root, &slug)
        {
            return Ok(db_path_for(&root, &slug));
        }
    }
    Ok(db_path_for(&root, "default"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules_follow_hermes() {
        assert_eq!(normalize_slug(" Ops ").unwrap(), Some("ops".into()));
        assert_eq!(normalize_slug("").unwrap(), None);
        assert!(normalize_slug("-bad").is_err());
        assert!(normalize_slug("a/b").is_err());
    }

    #[test]
    fn default_and_named_boards_live_apart() {
        let root = Path::new("/r");
        assert_eq!(db_path_for(root, "default"), Path::new("/r/kanban.db"));
        assert_eq!(
            db_path_for(root, "ops"),
            Path::new("/r/kanban/boards/ops/kanban.db")
        );
    }
}
