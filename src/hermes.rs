//! Finding the board file the way Hermes does, so `kanban-doctor` with no `--db` looks at
//! the same `kanban.db` as `hermes kanban` on the same machine.
//!
//! Order: `--db`; `HERMES_KANBAN_DB`; else a slug (`--board`, `HERMES_KANBAN_BOARD`, the slug
//! in `<root>/kanban/current` when that board exists, `default`) under the root.
//! `default` lives at `<root>/kanban.db`, any other slug at
//! `<root>/kanban/boards/<slug>/kanban.db`.
//!
//! The root is `HERMES_KANBAN_HOME`, else Hermes' `get_default_hermes_root()`: the native
//! home (`~/.hermes`) when `HERMES_HOME` is unset or lies anywhere under it (symlinks
//! resolved), else the grandparent of a `<root>/profiles/<name>` home, else `HERMES_HOME`
//! itself. The board is shared by every profile, so a profile's own home never anchors it.
//! `config.yaml`, on the other hand, is read from `HERMES_HOME` itself.
//!
//! Each variable is read as Hermes reads it, and they differ: `HERMES_KANBAN_DB` and
//! `HERMES_KANBAN_HOME` are stripped and `~`-expanded, `HERMES_KANBAN_BOARD` is stripped;
//! `HERMES_HOME` is never expanded, and is stripped for the config home but taken as it is
//! for the root (only an empty value counts as unset there).

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::py;

/// What the process environment tells Hermes about where boards live, read once so that
/// resolution is a function of it (and of the filesystem) that tests can call directly.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `HERMES_HOME`, exactly as set (empty when unset).
    pub hermes_home: OsString,
    /// `HERMES_KANBAN_HOME`, as set.
    pub kanban_home: OsString,
    /// `HERMES_KANBAN_DB`, as set.
    pub kanban_db: OsString,
    /// `HERMES_KANBAN_BOARD`, as set.
    pub kanban_board: OsString,
    /// The user's home, `Path.home()`: what `~` expands to.
    pub user_home: PathBuf,
    /// The platform-native Hermes home: `~/.hermes`.
    pub native_home: PathBuf,
    /// The working directory, against which a relative `HERMES_HOME` is resolved.
    pub cwd: PathBuf,
}

impl Env {
    pub fn from_process() -> Self {
        let var = |name| std::env::var_os(name).unwrap_or_default();
        let user_home = user_home();
        Env {
            hermes_home: var("HERMES_HOME"),
            kanban_home: var("HERMES_KANBAN_HOME"),
            kanban_db: var("HERMES_KANBAN_DB"),
            kanban_board: var("HERMES_KANBAN_BOARD"),
            native_home: native_home(&user_home, &var("LOCALAPPDATA")),
            user_home,
            cwd: std::env::current_dir().unwrap_or_default(),
        }
    }

    /// The Hermes home, where `config.yaml` lives: `HERMES_HOME` stripped, else `~/.hermes`
    /// (`get_hermes_home()`).
    pub fn hermes_home(&self) -> PathBuf {
        let home = py_strip(&self.hermes_home);
        if home.is_empty() {
            self.native_home.clone()
        } else {
            PathBuf::from(home)
        }
    }

    /// The root that anchors boards (`kanban_home()`): `HERMES_KANBAN_HOME`, else the
    /// default root.
    pub fn kanban_root(&self) -> PathBuf {
        let pinned = py_strip(&self.kanban_home);
        if pinned.is_empty() {
            self.default_root()
        } else {
            self.expand_user(&pinned)
        }
    }

    /// `get_default_hermes_root()`. Here `HERMES_HOME` is taken unstripped: only an empty
    /// value counts as unset.
    fn default_root(&self) -> PathBuf {
        if self.hermes_home.is_empty() {
            return self.native_home.clone();
        }
        let home = Path::new(&self.hermes_home);
        // Any home inside the native one (a profile, or a team directory such as
        // `~/.hermes/teamA`) shares the native root.
        if realpath(home, &self.cwd).starts_with(realpath(&self.native_home, &self.cwd)) {
            return self.native_home.clone();
        }
        // Elsewhere (Docker's `/opt/data`), `<root>/profiles/<name>` → `<root>`.
        match home.parent() {
            Some(parent) if parent.file_name().is_some_and(|n| n == "profiles") => {
                parent.parent().unwrap_or(Path::new("")).to_path_buf()
            }
            _ => home.to_path_buf(),
        }
    }

    /// `Path(value).expanduser()` for `~` and `~/…` (`~user` is left as it is).
    fn expand_user(&self, value: &OsStr) -> PathBuf {
        let path = Path::new(value);
        let mut components = path.components();
        match components.next() {
            Some(Component::Normal(first)) if first == "~" => {
                self.user_home.join(components.as_path())
            }
            _ => path.to_path_buf(),
        }
    }
}

/// `Path.home()`: `$HOME` (an empty one meaning `/`), else the password database.
fn user_home() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) if home.is_empty() => PathBuf::from("/"),
        _ => std::env::home_dir().unwrap_or_else(|| PathBuf::from("/")),
    }
}

/// The platform-native Hermes home: `~/.hermes`, or `%LOCALAPPDATA%\hermes` on Windows.
fn native_home(user_home: &Path, local_app_data: &OsStr) -> PathBuf {
    if cfg!(windows) {
        let base = py_strip(local_app_data);
        let base = if base.is_empty() {
            user_home.join("AppData").join("Local")
        } else {
            PathBuf::from(base)
        };
        base.join("hermes")
    } else {
        user_home.join(".hermes")
    }
}

/// Python's `str.strip()` on an environment value. Python decodes undecodable bytes to
/// lone surrogates, never whitespace, so those are kept.
fn py_strip(value: &OsStr) -> OsString {
    match value.to_str() {
        Some(text) => py::strip(text).into(),
        None => strip_undecodable(value),
    }
}

#[cfg(unix)]
fn strip_undecodable(value: &OsStr) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    let bytes = value.as_bytes();
    // The first and last byte that is not Python whitespace.
    let (mut start, mut end, mut offset) = (None, 0, 0);
    for chunk in bytes.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            if !py::is_space(c) {
                start.get_or_insert(offset + i);
                end = offset + i + c.len_utf8();
            }
        }
        offset += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            start.get_or_insert(offset);
            offset += chunk.invalid().len();
            end = offset;
        }
    }
    OsStr::from_bytes(&bytes[start.unwrap_or(0)..end]).to_os_string()
}

#[cfg(not(unix))]
fn strip_undecodable(value: &OsStr) -> OsString {
    value.to_os_string()
}

/// `Path.resolve()` without `strict`: absolute, with every symlink that exists followed,
/// `..` taken after the link before it; what does not exist is kept as written.
fn realpath(path: &Path, cwd: &Path) -> PathBuf {
    fn walk(out: &mut PathBuf, rest: &Path, hops: &mut u32) {
        for component in rest.components() {
            match component {
                Component::Prefix(_) | Component::RootDir => out.push(component),
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(name) => {
                    out.push(name);
                    // Past 40 links (a loop), the rest is kept as written.
                    if *hops < 40
                        && let Ok(target) = std::fs::read_link(&*out)
                    {
                        *hops += 1;
                        out.pop();
                        walk(out, &target, hops);
                    }
                }
            }
        }
    }
    let mut out = PathBuf::new();
    walk(&mut out, &cwd.join(path), &mut 0);
    out
}

/// The Hermes home of this process, where `config.yaml` lives.
pub fn hermes_home() -> PathBuf {
    Env::from_process().hermes_home()
}

/// Lower-case, strip and validate a board slug; `None` for an empty one.
pub fn normalize_slug(slug: &str) -> Result<Option<String>> {
    let s = py::strip(slug).to_lowercase();
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
/// `warnings` gets a line for each setting that was passed over (see [`resolve_noting`]).
pub fn resolve(
    db: Option<&Path>,
    board: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<PathBuf> {
    resolve_noting(&Env::from_process(), db, board, warnings)
}

/// `resolve` in a given environment.
#[cfg(test)]
pub fn resolve_in(env: &Env, db: Option<&Path>, board: Option<&str>) -> Result<PathBuf> {
    resolve_noting(env, db, board, &mut Vec::new())
}

/// `resolve_in`, saying in `warnings` when `HERMES_KANBAN_BOARD` was passed over: Hermes
/// falls back silently from a slug that is invalid or names no board, and the operator is
/// then looking at another board than the one they set.
pub fn resolve_noting(
    env: &Env,
    db: Option<&Path>,
    board: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<PathBuf> {
    if let Some(p) = db {
        return Ok(p.to_path_buf());
    }
    // `hermes kanban --board` checks its slug before anything else; an empty one is as
    // good as no flag, a blank one is refused.
    let flag = match board.filter(|b| !b.is_empty()) {
        Some(b) => Some(normalize_slug(b)?.ok_or_else(|| Error::BadSlug {
            slug: b.to_string(),
        })?),
        None => None,
    };
    let pinned = py_strip(&env.kanban_db);
    if !pinned.is_empty() {
        return Ok(env.expand_user(&pinned));
    }
    let root = env.kanban_root();
    if let Some(slug) = flag {
        return Ok(db_path_for(&root, &slug));
    }
    // Stale or malformed slugs fall through to the next layer, as in Hermes.
    let from_env = py_strip(&env.kanban_board).into_string().ok();
    let from_file = std::fs::read_to_string(root.join("kanban").join("current")).ok();
    for (i, candidate) in [from_env, from_file].into_iter().enumerate() {
        let Some(candidate) = candidate else { continue };
        match normalize_slug(&candidate) {
            Ok(Some(slug)) if board_exists(&root, &slug) => {
                return Ok(db_path_for(&root, &slug));
            }
            Ok(Some(slug)) if i == 0 => warnings.push(format!(
                "warning: HERMES_KANBAN_BOARD={slug} names no board under {}; falling back as Hermes does (the board in kanban/current, else default)",
                crate::escape::path(&root)
            )),
            Err(_) if i == 0 => warnings.push(format!(
                "warning: HERMES_KANBAN_BOARD=\"{}\" is not a valid board slug (1-64 of a-z, 0-9, '-', '_'); falling back as Hermes does (the board in kanban/current, else default)",
                crate::escape::line(&candidate)
            )),
            _ => {}
        }
    }
    Ok(db_path_for(&root, "default"))
}

/// The boards of one Hermes install, as `hermes kanban boards list` enumerates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boards {
    /// The root they were found under.
    pub root: PathBuf,
    /// `(slug, board file)` for every board that has a file: `default` first, then the
    /// others by name.
    pub found: Vec<(String, PathBuf)>,
    /// Board directories with no `kanban.db` (a `board.json` only: Hermes lists the board,
    /// but it has no file to check yet), and a missing default board file.
    pub without_file: Vec<(String, PathBuf)>,
}

/// Every board under the root (`list_boards()`): `default` at `<root>/kanban.db`, then each
/// directory of `<root>/kanban/boards/` named by a valid slug that holds a `kanban.db` or a
/// `board.json`, ordered by lower-cased name. Directories whose names are not slugs
/// (`_archived`, `Foo`) are not boards, as in Hermes. `HERMES_KANBAN_DB` pins one file and is
/// not a list: it is not read here.
pub fn list_boards(env: &Env) -> Boards {
    let root = env.kanban_root();
    let mut found = Vec::new();
    let mut without_file = Vec::new();
    let default = db_path_for(&root, "default");
    if default.exists() {
        found.push(("default".to_string(), default));
    } else {
        without_file.push(("default".to_string(), default));
    }
    let dir = root.join("kanban").join("boards");
    let mut children: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    children.sort_by_key(|(name, _)| name.to_lowercase());
    for (name, path) in children {
        // Only a name that is already its own slug: Hermes would look for the board under
        // the normalised name, which is another directory.
        if name == "default" || normalize_slug(&name).ok().flatten().as_deref() != Some(&name) {
            continue;
        }
        let db = path.join("kanban.db");
        if db.exists() {
            found.push((name, db));
        } else if path.join("board.json").exists() {
            without_file.push((name, db));
        }
    }
    Boards {
        root,
        found,
        without_file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_board_under_the_root_default_first_then_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let boards = root.join("kanban").join("boards");
        for (name, files) in [
            ("zeta", &["kanban.db"][..]),
            ("Alpha", &["kanban.db"][..]),
            ("beta", &["kanban.db", "board.json"][..]),
            ("meta-only", &["board.json"][..]),
            ("_archived", &["kanban.db"][..]),
            ("empty", &[][..]),
            ("default", &["kanban.db"][..]),
        ] {
            std::fs::create_dir_all(boards.join(name)).unwrap();
            for f in files {
                std::fs::write(boards.join(name).join(f), b"").unwrap();
            }
        }
        std::fs::write(boards.join("not-a-dir"), b"").unwrap();
        let env = Env {
            kanban_home: root.as_os_str().to_owned(),
            ..Env::default()
        };
        let found = list_boards(&env);
        let slugs = |v: &[(String, PathBuf)]| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
        assert_eq!(slugs(&found.found), ["beta", "zeta"]);
        assert_eq!(slugs(&found.without_file), ["default", "meta-only"]);
        assert_eq!(found.found[0].1, boards.join("beta").join("kanban.db"));
        std::fs::write(root.join("kanban.db"), b"").unwrap();
        let found = list_boards(&env);
        assert_eq!(slugs(&found.found), ["default", "beta", "zeta"]);
        assert_eq!(found.found[0].1, root.join("kanban.db"));
    }

    #[test]
    fn slug_rules_follow_hermes() {
        assert_eq!(normalize_slug(" Ops ").unwrap(), Some("ops".into()));
        assert_eq!(
            normalize_slug("\u{1c}ops\u{1f}").unwrap(),
            Some("ops".into())
        );
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

    /// A machine whose user home is `<tmp>/home`, with `~/.hermes` created.
    struct Machine {
        tmp: tempfile::TempDir,
    }

    impl Machine {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(tmp.path().join("home/.hermes")).unwrap();
            Machine { tmp }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.tmp.path().join(rel)
        }

        fn env(&self, hermes_home: &str) -> Env {
            let user_home = self.path("home");
            Env {
                hermes_home: hermes_home.into(),
                native_home: user_home.join(".hermes"),
                user_home,
                cwd: self.path("work"),
                ..Env::default()
            }
        }

        fn root(&self, hermes_home: &str) -> PathBuf {
            self.env(hermes_home).kanban_root()
        }
    }

    fn s(p: &Path) -> String {
        p.to_str().unwrap().to_string()
    }

    #[cfg(unix)]
    #[test]
    fn any_home_under_the_native_one_shares_its_root() {
        let m = Machine::new();
        let native = m.path("home/.hermes");
        assert_eq!(m.root(""), native);
        for sub in [
            "",
            "/profiles/coder",
            "/teamA",
            "/teamA/nested/deeper",
            "/x/..",
        ] {
            assert_eq!(m.root(&format!("{}{sub}", s(&native))), native, "{sub}");
        }
        // Only whole components count: `~/.hermes2` is a home of its own.
        let sibling = m.path("home/.hermes2");
        assert_eq!(m.root(&s(&sibling)), sibling);
        // A home that is a symlink into the native home is under it once resolved.
        std::fs::create_dir_all(native.join("teamB")).unwrap();
        std::os::unix::fs::symlink(native.join("teamB"), m.path("link-to-team")).unwrap();
        assert_eq!(m.root(&s(&m.path("link-to-team"))), native);
        // A relative home is resolved against the working directory.
        std::fs::create_dir_all(m.path("work")).unwrap();
        assert_eq!(m.root("../home/.hermes/teamC"), native);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_native_home_is_compared_by_its_target() {
        let m = Machine::new();
        std::fs::create_dir_all(m.path("data/hermes/profiles/coder")).unwrap();
        std::fs::remove_dir(m.path("home/.hermes")).unwrap();
        std::os::unix::fs::symlink(m.path("data/hermes"), m.path("home/.hermes")).unwrap();
        // The root is the native home as written, not its target.
        assert_eq!(
            m.root(&s(&m.path("data/hermes/profiles/coder"))),
            m.path("home/.hermes")
        );
    }

    #[test]
    fn elsewhere_a_profiles_parent_lifts_to_the_grandparent() {
        let m = Machine::new();
        assert_eq!(m.root("/opt/data/profiles/coder"), Path::new("/opt/data"));
        assert_eq!(m.root("/opt/data/profiles/coder/"), Path::new("/opt/data"));
        assert_eq!(m.root("/opt/data"), Path::new("/opt/data"));
        assert_eq!(
            m.root("/opt/data/teams/coder"),
            Path::new("/opt/data/teams/coder")
        );
        assert_eq!(m.root("profiles/coder"), Path::new(""));
        // Never `~`-expanded: a literal directory named `~`, relative to the cwd.
        assert_eq!(m.root("~/data"), Path::new("~/data"));
    }

    #[test]
    fn hermes_home_is_stripped_for_the_config_but_not_for_the_root() {
        let m = Machine::new();
        let env = m.env(" /opt/data ");
        assert_eq!(env.hermes_home(), Path::new("/opt/data"));
        assert_eq!(env.kanban_root(), Path::new(" /opt/data "));
        let blank = m.env(" \t");
        assert_eq!(blank.hermes_home(), m.path("home/.hermes"));
        assert_eq!(blank.kanban_root(), Path::new(" \t"));
        // The config lives in the profile's own home, the board at the shared root.
        let profile = m.env("/opt/data/profiles/coder");
        assert_eq!(profile.hermes_home(), Path::new("/opt/data/profiles/coder"));
        assert_eq!(profile.kanban_root(), Path::new("/opt/data"));
    }

    #[test]
    fn kanban_variables_are_stripped_and_tilde_expanded() {
        let m = Machine::new();
        let home = m.path("home");
        let mut env = m.env("/opt/data/profiles/coder");
        env.kanban_home = " ~/boards \n".into();
        assert_eq!(env.kanban_root(), home.join("boards"));
        env.kanban_home = "\u{1c} ".into();
        assert_eq!(env.kanban_root(), Path::new("/opt/data"));
        env.kanban_home = "~other/boards".into();
        assert_eq!(env.kanban_root(), Path::new("~other/boards"));
        env.kanban_home = OsString::new();

        env.kanban_db = " ~/pinned.db ".into();
        let pinned = resolve_in(&env, None, Some("ops")).unwrap();
        assert_eq!(pinned, home.join("pinned.db"));
        env.kanban_db = "~".into();
        assert_eq!(resolve_in(&env, None, None).unwrap(), home);
        env.kanban_db = " ".into();
        assert_eq!(
            resolve_in(&env, None, None).unwrap(),
            Path::new("/opt/data/kanban.db")
        );
    }

    #[cfg(unix)]
    #[test]
    fn undecodable_bytes_are_kept_and_only_whitespace_is_stripped() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b" \xa0\xff/data\xfe\xc2\xa0\t");
        assert_eq!(py_strip(raw).as_bytes(), b"\xa0\xff/data\xfe");
        assert_eq!(py_strip(OsStr::from_bytes(b"\xff")).as_bytes(), b"\xff");
        assert_eq!(py_strip(OsStr::new(" \u{3000}")).as_bytes(), b"");
    }

    #[test]
    fn the_board_flag_is_checked_first_and_an_empty_one_is_no_flag() {
        let m = Machine::new();
        let mut env = m.env("/opt/data");
        env.kanban_db = "/pinned.db".into();
        assert!(matches!(
            resolve_in(&env, None, Some("  ")),
            Err(Error::BadSlug { .. })
        ));
        assert!(matches!(
            resolve_in(&env, None, Some("Bad!")),
            Err(Error::BadSlug { .. })
        ));
        assert_eq!(
            resolve_in(&env, None, Some("")).unwrap(),
            Path::new("/pinned.db")
        );
        env.kanban_db = OsString::new();
        assert_eq!(
            resolve_in(&env, None, Some(" OPS ")).unwrap(),
            Path::new("/opt/data/kanban/boards/ops/kanban.db")
        );
    }

    #[test]
    fn the_env_slug_and_the_current_file_apply_only_to_boards_that_exist() {
        let m = Machine::new();
        let root = m.path("home/.hermes");
        std::fs::create_dir_all(root.join("kanban/boards/ops")).unwrap();
        std::fs::write(root.join("kanban/boards/ops/board.json"), "{}").unwrap();
        std::fs::write(root.join("kanban/current"), " ops \n").unwrap();
        let mut env = m.env(&s(&root.join("teamA")));
        let ops = root.join("kanban/boards/ops/kanban.db");
        assert_eq!(resolve_in(&env, None, None).unwrap(), ops);
        env.kanban_board = " gone ".into();
        assert_eq!(resolve_in(&env, None, None).unwrap(), ops);
        env.kanban_board = "Default".into();
        assert_eq!(
            resolve_in(&env, None, None).unwrap(),
            root.join("kanban.db")
        );
        assert_eq!(
            resolve_in(&env, None, Some("")).unwrap(),
            root.join("kanban.db")
        );
    }
}
