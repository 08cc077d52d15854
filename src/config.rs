//! The diagnostic rules' configuration, combined the way Hermes combines it.
//!
//! Hermes reads `config.yaml` and folds its `kanban`, `auxiliary` and `model` sections into
//! one flat dictionary (`config_from_runtime_config`), laid over the rule defaults. The rules
//! then read that dictionary with Python's `int()` and `float()`, so values keep their YAML
//! types here and are converted at the point of use, failing where Python would.
//!
//! Two sets of defaults exist ([`Defaults`]). kanban-doctor's own, `unified`, are the
//! unified-counter change's: failure threshold 3, breaker limit 5, crash threshold 2, and
//! `kanban.failure_limit` drives the failure threshold only when a config file sets it.
//! `hermes-0.19` reproduces stock hermes-agent 0.19.0: failure threshold 2, and any `kanban`
//! section gets a breaker limit (`kanban.failure_limit`, else 2) that the failure threshold
//! follows unless a diagnostics threshold is set. Either way the fold also remembers where
//! each threshold came from, for the report header ([`Thresholds`]).

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::py::int::Int;
use crate::py::object::{Dict, IntError, Object, py_dict};

mod events;
pub(crate) mod yaml11;

/// Which defaults the rules start from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Defaults {
    /// The unified-counter change's: failure threshold 3, breaker limit 5, crash threshold 2.
    #[default]
    Unified,
    /// Stock hermes-agent 0.19.0's: failure threshold 2, breaker limit 2, crash threshold 2.
    #[value(name = "hermes-0.19")]
    Hermes019,
}

impl Defaults {
    pub fn as_str(self) -> &'static str {
        match self {
            Defaults::Unified => "unified",
            Defaults::Hermes019 => "hermes-0.19",
        }
    }

    /// The rules' defaults, laid under whatever the config sets. Stock 0.19.0 has no
    /// `failure_limit` here: `repeated_failures` then quotes its threshold as the limit.
    fn rule_defaults(self) -> Dict {
        let (threshold, limit) = match self {
            Defaults::Unified => (3, Some(5)),
            Defaults::Hermes019 => (2, None),
        };
        let mut d: Dict = [
            ("failure_threshold", threshold),
            ("spawn_failure_threshold", threshold),
            ("crash_threshold", 2),
            ("blocked_stale_hours", 24),
            ("stranded_threshold_seconds", 1800),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Object::Int(Int::Small(v))))
        .collect();
        if let Some(limit) = limit {
            d.insert("failure_limit".into(), Object::Int(Int::Small(limit)));
        }
        d
    }

    /// The default failure threshold: what a breaker limit that is not a positive integer
    /// leaves the threshold at.
    fn failure_threshold(self) -> i64 {
        match self {
            Defaults::Unified => 3,
            Defaults::Hermes019 => 2,
        }
    }

    /// The breaker limit a `kanban` section without `failure_limit` is given, if any. Stock
    /// 0.19.0 injects its default failure threshold (2); kanban-doctor injects nothing, so
    /// its own defaults stand.
    fn injected_limit(self) -> Option<i64> {
        match self {
            Defaults::Unified => None,
            Defaults::Hermes019 => Some(2),
        }
    }

    /// The kernel's breaker limit when neither the task (`max_retries`) nor
    /// `kanban.failure_limit` sets one: 5, or stock 0.19.0's `DEFAULT_FAILURE_LIMIT` 2.
    pub fn breaker_limit(self) -> i64 {
        match self {
            Defaults::Unified => 5,
            Defaults::Hermes019 => 2,
        }
    }
}

/// Where a threshold came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The chosen set of defaults.
    Default,
    /// A config key, dotted (`kanban.failure_limit`).
    Key(&'static str),
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::Key(k) => k,
        }
    }
}

/// One threshold as the rules use it, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The number compared against, exact at any size (Python's ints); `None` when the
    /// setting is not a number, so the rule reading it is dropped.
    pub value: Option<Int>,
    pub origin: Origin,
    /// The setting is not a positive integer and the rule uses `value` instead.
    pub fallback: bool,
}

/// The thresholds a report header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    pub defaults: Defaults,
    /// `repeated_failures`' threshold.
    pub failure_threshold: Threshold,
    /// The breaker limit: the one `repeated_failures` quotes, or the audit's replay limit.
    pub failure_limit: Threshold,
    /// `repeated_crashes`' threshold.
    pub crash_threshold: Threshold,
}

/// Where the merged `failure_threshold`, `failure_limit` and `crash_threshold` came from.
#[derive(Debug, Clone, Copy)]
struct Origins {
    failure_threshold: Origin,
    failure_limit: Origin,
    crash_threshold: Origin,
    /// The threshold was derived from a breaker limit that is not a positive integer.
    derived_fallback: bool,
}

/// The flat dictionary the rules read, after defaults and derivations.
#[derive(Debug, Clone)]
pub struct DiagConfig {
    map: Dict,
    /// The file it came from, for messages; `None` when built from defaults only.
    pub source: Option<PathBuf>,
    defaults: Defaults,
    origins: Origins,
}

impl Default for DiagConfig {
    fn default() -> Self {
        Self::from_runtime(&Object::Dict(Box::default()), None, Defaults::default())
            .expect("an empty config has no diagnostics to refuse")
    }
}

impl DiagConfig {
    /// Read a Hermes `config.yaml`. A file that does not parse is an error with its position.
    pub fn load(path: &Path, defaults: Defaults) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let raw = if text.trim().is_empty() {
            Object::None
        } else {
            if let Some((line, column)) = nesting_beyond(&text, MAX_NESTING) {
                return Err(Error::ConfigParse {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: format!(
                        "nested more than {MAX_NESTING} levels deep (the limit for a config file)"
                    ),
                });
            }
            yaml11::load(&text, MAX_NESTING).map_err(|e| Error::ConfigParse {
                path: path.to_path_buf(),
                line: e.line,
                column: e.column,
                message: e.message,
            })?
        };
        Self::from_runtime(&raw, Some(path.to_path_buf()), defaults)
    }

    /// `--config FILE`, else `config.yaml` in the Hermes home when it exists, else defaults.
    pub fn discover(explicit: Option<&Path>, defaults: Defaults) -> Result<Self, Error> {
        if let Some(p) = explicit {
            return Self::load(p, defaults);
        }
        let home = crate::hermes::hermes_home();
        let candidate = home.join("config.yaml");
        if candidate.is_file() {
            Self::load(&candidate, defaults)
        } else {
            Self::from_runtime(&Object::None, None, defaults)
        }
    }

    /// Fold a parsed runtime config into the rules' dictionary, over `defaults`. Fails
    /// where Hermes' fold raises: on a `kanban.diagnostics` that `dict()` refuses.
    pub fn from_runtime(
        raw: &Object,
        source: Option<PathBuf>,
        defaults: Defaults,
    ) -> Result<Self, Error> {
        let mut config = Dict::default();
        let mut origins = Origins {
            failure_threshold: Origin::Default,
            failure_limit: Origin::Default,
            crash_threshold: Origin::Default,
            derived_fallback: false,
        };
        if let Object::Dict(raw) = raw {
            if let Some(kanban @ Object::Dict(section)) = raw.get("kanban") {
                // `dict(kanban.get("diagnostics") or {})`: a list of pairs works too.
                let mut diag = py_dict(section.get("diagnostics").unwrap_or(&Object::None))
                    .map_err(|message| Error::ConfigDiagnostics {
                        path: source.clone().unwrap_or_else(|| PathBuf::from("config")),
                        message,
                    })?;
                let from_diag = |key: &str, dotted: &'static str| {
                    if diag.get(key).is_some() {
                        Origin::Key(dotted)
                    } else {
                        Origin::Default
                    }
                };
                origins.failure_threshold =
                    from_diag("failure_threshold", "kanban.diagnostics.failure_threshold");
                origins.failure_limit =
                    from_diag("failure_limit", "kanban.diagnostics.failure_limit");
                origins.crash_threshold =
                    from_diag("crash_threshold", "kanban.diagnostics.crash_threshold");
                // The section's breaker limit: the one it sets (even null), else whatever
                // the defaults inject (stock 0.19.0: its default threshold; unified: none).
                let limit = match section.get("failure_limit") {
                    Some(l) => Some((l.clone(), Origin::Key("kanban.failure_limit"))),
                    None => defaults
                        .injected_limit()
                        .map(|n| (Object::Int(Int::Small(n)), Origin::Default)),
                };
                if let Some((limit, origin)) = limit {
                    if diag.get("failure_limit").is_none() {
                        diag.insert("failure_limit".into(), limit);
                        origins.failure_limit = origin;
                    }
                    // The threshold follows the breaker limit unless one is set explicitly.
                    if diag.get("failure_threshold").is_none()
                        && diag.get("spawn_failure_threshold").is_none()
                    {
                        let l = diag.get("failure_limit").cloned().unwrap_or(Object::None);
                        diag.insert("failure_threshold".into(), l);
                        origins.failure_threshold = origins.failure_limit;
                    }
                }
                for (k, v) in diag.iter() {
                    config.insert(k.clone(), v.clone());
                }
                config.insert("kanban".into(), kanban.clone());
            }
            for key in ["auxiliary", "model"] {
                if let Some(v) = raw.get(key)
                    && !v.is_none()
                {
                    config.insert(key.into(), v.clone());
                }
            }
        }
        let mut map = defaults.rule_defaults();
        let explicit_threshold = config.get("failure_threshold").is_some()
            || config.get("spawn_failure_threshold").is_some();
        let limit = config.get("failure_limit").cloned();
        for (k, v) in config.iter() {
            map.insert(k.clone(), v.clone());
        }
        if !explicit_threshold && let Some(limit) = limit {
            // `_positive_int(limit, default)`, outside the rules' guard: an infinite limit
            // would raise there; Hermes' own fold always sets a threshold beside a limit,
            // so only a config built some other way could reach this.
            let derived = positive_int(Some(&limit), defaults.failure_threshold())
                .unwrap_or(Int::Small(defaults.failure_threshold()));
            map.insert("failure_threshold".into(), Object::Int(derived));
            origins.failure_threshold = origins.failure_limit;
            origins.derived_fallback = !is_positive_int(Some(&limit));
        }
        Ok(DiagConfig {
            map,
            source,
            defaults,
            origins,
        })
    }

    /// A config text read and folded as `load` does, for tests; panics where `load` fails.
    #[cfg(test)]
    pub(crate) fn from_yaml(yaml: &str, defaults: Defaults) -> Self {
        let raw = yaml11::load(yaml, MAX_NESTING).expect("the test config parses");
        Self::from_runtime(&raw, None, defaults).expect("the test config folds")
    }

    pub fn get(&self, key: &str) -> Option<&Object> {
        self.map.get(key)
    }

    pub fn map(&self) -> &Dict {
        &self.map
    }

    /// The set of defaults this configuration was laid over.
    pub fn defaults(&self) -> Defaults {
        self.defaults
    }

    /// The thresholds as `repeated_failures` and `repeated_crashes` read them, and where
    /// each came from.
    pub fn thresholds(&self) -> Thresholds {
        // Both default sets hold `failure_threshold`, so the legacy name is never the one
        // read; it is looked up anyway, as the rule does.
        let set = self
            .get("failure_threshold")
            .or(self.get("spawn_failure_threshold"));
        let threshold = positive_int(set, 3).ok();
        let failure_threshold = Threshold {
            value: threshold.clone(),
            origin: self.origins.failure_threshold,
            fallback: self.origins.derived_fallback || !is_positive_int(set),
        };
        let limit = self.get("failure_limit");
        let failure_limit = Threshold {
            value: threshold.and_then(|t| positive_int(limit, t).ok()),
            // Without a limit, the threshold is quoted as the limit: only the defaults'
            // threshold can be the one then (no `kanban` section).
            origin: self.origins.failure_limit,
            fallback: limit.is_some() && !is_positive_int(limit),
        };
        let crash = self.get("crash_threshold");
        let crash_threshold = Threshold {
            value: crash.map_or(Ok(Int::Small(2)), Object::py_int_exact).ok(),
            origin: self.origins.crash_threshold,
            fallback: false,
        };
        Thresholds {
            defaults: self.defaults,
            failure_threshold,
            failure_limit,
            crash_threshold,
        }
    }
}

/// How deeply a config may nest collections, block and flow together, before it is refused
/// unparsed. libyaml, which Hermes' loader uses when it can, refuses this depth too (pure
/// PyYAML runs out of Python recursion well before it). [`yaml11`] refuses values nested
/// deeper (through aliases too) when it builds them, but libyaml's scanner takes time
/// quadratic in the depth of flow nesting (a line of 100k `[` ran for minutes) and memory
/// linear in block nesting; a linear pre-scan turns anything this deep away first.
pub const MAX_NESTING: usize = 1000;

/// Where `text` first nests more than `limit` collections deep, as a 1-based line and
/// column; `None` when it never does.
///
/// One pass that counts open collections the way libyaml's scanner does: block
/// collections by the indentation columns that start them (a `- `, `? ` or `key:` to the
/// right of the enclosing one; a line to the left closes them), flow collections by their
/// brackets. Comments, quoted scalars and block scalars are skipped, since their brackets
/// and indentation are text. It estimates; it does not validate. Real configs nest a few
/// levels, so a small miscount in odd YAML cannot bring one near the limit, and the parser
/// reports whatever the pre-scan lets through.
fn nesting_beyond(text: &str, limit: usize) -> Option<(usize, usize)> {
    let mut scan = DepthScan {
        text,
        bytes: text.as_bytes(),
        i: if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        },
        line: 1,
        line_start: 0,
        indents: Vec::new(),
        flow: 0,
        limit,
    };
    scan.run().err()
}

/// The state of `nesting_beyond`: a position and the open collections. The methods return
/// `Err(position)` where the limit is passed.
struct DepthScan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: usize,
    line_start: usize,
    /// Columns of the open block collections, increasing.
    indents: Vec<usize>,
    /// Open flow collections.
    flow: usize,
    limit: usize,
}

type Position = (usize, usize);

/// Space, tab, line break or the end of the text: what ends an indicator such as `- `.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0)
}

impl DepthScan<'_> {
    fn at(&self, k: usize) -> u8 {
        self.bytes.get(self.i + k).copied().unwrap_or(0)
    }

    fn column(&self) -> usize {
        self.i - self.line_start
    }

    /// The 1-based line and column (in characters) of the byte at `column` on the current
    /// line, or of the current byte.
    fn position(&self, column: Option<usize>) -> Position {
        let end = column.map_or(self.i, |c| self.line_start + c).min(self.i);
        let prefix = self.text.get(self.line_start..end).unwrap_or_default();
        (self.line, prefix.chars().count() + 1)
    }

    fn newline(&mut self) {
        self.i += 1;
        self.line += 1;
        self.line_start = self.i;
    }

    /// `Err` with the position of the collection just opened, at `column` or here, when it
    /// is one too many.
    fn check(&self, column: Option<usize>) -> Result<(), Position> {
        if self.indents.len() + self.flow > self.limit {
            Err(self.position(column))
        } else {
            Ok(())
        }
    }

    /// To the line break or the end of the text (past a stray NUL byte too).
    fn skip_to_line_end(&mut self) {
        while self.bytes.get(self.i).is_some_and(|&b| b != b'\n') {
            self.i += 1;
        }
    }

    /// A block collection starting at `column` (libyaml's `roll_indent`).
    fn open_block(&mut self, column: usize) -> Result<(), Position> {
        if self.indents.last().is_none_or(|&top| column > top) {
            self.indents.push(column);
            self.check(Some(column))?;
        }
        Ok(())
    }

    /// `---` or `...` alone at the start of a line.
    fn at_document_marker(&self) -> bool {
        let rest = &self.bytes[self.i..];
        (rest.starts_with(b"---") || rest.starts_with(b"...")) && is_blank(self.at(3))
    }

    fn run(&mut self) -> Result<(), Position> {
        while self.i < self.bytes.len() {
            let start = self.i;
            while matches!(self.at(0), b' ' | b'\t') {
                self.i += 1;
            }
            let indent = self.i - start;
            while self.at(0) == b'\r' {
                self.i += 1;
            }
            match self.at(0) {
                b'\n' => {
                    self.newline();
                    continue;
                }
                b'#' | 0 => {
                    self.skip_to_line_end();
                    continue;
                }
                b'%' if indent == 0 => {
                    self.skip_to_line_end();
                    continue;
                }
                b'-' | b'.' if indent == 0 && self.at_document_marker() => {
                    // A new document starts at the left margin.
                    self.indents.clear();
                    self.i += 3;
                }
                _ => {
                    while self.indents.last().is_some_and(|&top| top > indent) {
                        self.indents.pop();
                    }
                }
            }
            self.line_tokens()?;
        }
        Ok(())
    }

    /// The tokens of one line in block context, up to the start of the next line that is
    /// not inside a scalar or a flow collection begun here.
    fn line_tokens(&mut self) -> Result<(), Position> {
        loop {
            while matches!(self.at(0), b' ' | b'\t' | b'\r') {
                self.i += 1;
            }
            let column = self.column();
            match self.at(0) {
                0 => return Ok(()),
                b'\n' => {
                    self.newline();
                    return Ok(());
                }
                b'#' => self.skip_to_line_end(),
                b'-' | b'?' if is_blank(self.at(1)) => {
                    self.open_block(column)?;
                    self.i += 1;
                }
                b':' if is_blank(self.at(1)) => self.i += 1,
                b'[' | b'{' => self.flow_collection()?,
                b'|' | b'>' => {
                    self.block_scalar();
                    return Ok(());
                }
                quote @ (b'\'' | b'"') => {
                    self.quoted(quote);
                    self.maybe_key(column)?;
                }
                b'&' | b'!' | b'*' => {
                    let alias = self.at(0) == b'*';
                    while !is_blank(self.at(0)) {
                        self.i += 1;
                    }
                    if alias {
                        self.maybe_key(column)?;
                    }
                }
                _ => {
                    // A plain scalar runs to the end of the line, a comment, or `: ` when
                    // it is a key.
                    loop {
                        match self.at(0) {
                            b'\n' | 0 => break,
                            b':' if is_blank(self.at(1)) => {
                                self.open_block(column)?;
                                self.i += 1;
                                break;
                            }
                            b'#' if matches!(self.bytes[self.i - 1], b' ' | b'\t') => break,
                            _ => self.i += 1,
                        }
                    }
                }
            }
        }
    }

    /// After a quoted scalar or an alias: a `:` makes it a key.
    fn maybe_key(&mut self, column: usize) -> Result<(), Position> {
        while matches!(self.at(0), b' ' | b'\t') {
            self.i += 1;
        }
        if self.at(0) == b':' && is_blank(self.at(1)) {
            self.open_block(column)?;
            self.i += 1;
        }
        Ok(())
    }

    /// A flow collection from its opening bracket to the matching close (or the end).
    fn flow_collection(&mut self) -> Result<(), Position> {
        let mut token_start = true;
        while let byte @ 1.. = self.at(0) {
            match byte {
                b'\n' => {
                    self.newline();
                    continue;
                }
                b'[' | b'{' => {
                    self.flow += 1;
                    self.check(None)?;
                    token_start = true;
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    token_start = false;
                }
                b',' | b':' | b'?' => token_start = true,
                b' ' | b'\t' | b'\r' => {}
                b'#' if self.i == self.line_start
                    || matches!(self.bytes[self.i - 1], b' ' | b'\t') =>
                {
                    self.skip_to_line_end();
                    continue;
                }
                b'\'' | b'"' if token_start => {
                    self.quoted(byte);
                    token_start = false;
                    continue;
                }
                _ => token_start = false,
            }
            self.i += 1;
            if self.flow == 0 {
                break;
            }
        }
        Ok(())
    }

    /// A quoted scalar from its opening quote past its closing one (or to the end).
    fn quoted(&mut self, quote: u8) {
        self.i += 1;
        loop {
            match self.at(0) {
                0 => return,
                b'\n' => self.newline(),
                b'\\' if quote == b'"' => {
                    self.i += 1;
                    if self.at(0) == b'\n' {
                        self.newline();
                    } else if self.at(0) != 0 {
                        self.i += 1;
                    }
                }
                b'\'' if quote == b'\'' && self.at(1) == b'\'' => self.i += 2,
                b if b == quote => {
                    self.i += 1;
                    return;
                }
                _ => self.i += 1,
            }
        }
    }

    /// A literal or folded block scalar: the rest of its header line, then every line that
    /// is blank or indented past the enclosing block collection.
    fn block_scalar(&mut self) {
        let parent = self.indents.last().copied();
        self.skip_to_line_end();
        if self.at(0) == b'\n' {
            self.newline();
        }
        while self.i < self.bytes.len() {
            let spaces = self.bytes[self.i..]
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
            let after = self.bytes.get(self.i + spaces).copied().unwrap_or(0);
            let blank = matches!(after, b'\n' | b'\r' | 0);
            if !blank && parent.is_some_and(|p| spaces <= p) {
                return;
            }
            self.skip_to_line_end();
            if self.at(0) == b'\n' {
                self.newline();
            }
        }
    }
}

/// The reference's tolerant positive-int read (`_positive_int`): `int(v)` when it is at
/// least 1, else the default, also where `int()` raises `ValueError` or `TypeError`. An
/// infinite float makes it raise `OverflowError`, which it does not catch: `Err`, and the
/// rule reading the setting is dropped.
pub fn positive_int(v: Option<&Object>, default: impl Into<Int>) -> Result<Int, IntError> {
    match v.map_or(Err(IntError::Invalid), Object::py_int_exact) {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) | Err(IntError::Invalid) => Ok(default.into()),
        Err(IntError::Overflow) => Err(IntError::Overflow),
    }
}

/// Whether [`positive_int`] takes `v` itself rather than its default.
fn is_positive_int(v: Option<&Object>) -> bool {
    v.and_then(|v| v.py_int_exact().ok())
        .is_some_and(|n| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    /// A setting as merged, as JSON (`None` where absent).
    fn get(c: &DiagConfig, key: &str) -> Option<Json> {
        c.get(key)
            .map(|v| serde_json::to_value(v).expect("a finite setting"))
    }

    fn cfg(yaml: &str) -> DiagConfig {
        cfg_with(yaml, Defaults::Unified)
    }

    fn stock(yaml: &str) -> DiagConfig {
        cfg_with(yaml, Defaults::Hermes019)
    }

    fn cfg_with(yaml: &str, defaults: Defaults) -> DiagConfig {
        DiagConfig::from_yaml(yaml, defaults)
    }

    /// `failure_threshold`, `failure_limit` and `crash_threshold` as merged (`None` where
    /// absent).
    fn merged(c: &DiagConfig) -> [Option<Json>; 3] {
        ["failure_threshold", "failure_limit", "crash_threshold"].map(|k| get(c, k))
    }

    /// The header's three thresholds, as value and origin.
    fn header(c: &DiagConfig) -> [(Option<i64>, &'static str, bool); 3] {
        let t = c.thresholds();
        [t.failure_threshold, t.failure_limit, t.crash_threshold].map(|t| {
            (
                t.value.and_then(|v| v.to_i64()),
                t.origin.as_str(),
                t.fallback,
            )
        })
    }

    #[test]
    fn defaults_are_threshold_three_limit_five() {
        let c = DiagConfig::default();
        assert_eq!(get(&c, "failure_threshold"), Some(json!(3)));
        assert_eq!(get(&c, "failure_limit"), Some(json!(5)));
        assert_eq!(get(&c, "crash_threshold"), Some(json!(2)));
    }

    #[test]
    fn failure_limit_drives_threshold_unless_explicit() {
        let c = cfg("kanban:\n  failure_limit: 4\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!(4)));
        assert_eq!(get(&c, "failure_limit"), Some(json!(4)));
        let c = cfg("kanban:\n  failure_limit: 4\n  diagnostics:\n    failure_threshold: 2\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!(2)));
    }

    fn deep(text: &str) -> Option<(usize, usize)> {
        nesting_beyond(text, MAX_NESTING)
    }

    #[test]
    fn flow_nesting_up_to_the_limit_passes_and_one_more_is_refused_where_it_opens() {
        let n = MAX_NESTING;
        assert_eq!(deep(&format!("{}{}", "[".repeat(n), "]".repeat(n))), None);
        assert_eq!(deep(&"[".repeat(n + 1)), Some((1, n + 1)));
        // The enclosing block mapping counts too, as in libyaml (column 1003 there as here).
        assert_eq!(deep(&format!("a: {}", "[".repeat(n))), Some((1, n + 3)));
        assert_eq!(deep(&format!("a: {}1", "{a: ".repeat(n))), Some((1, 4 * n)));
        assert_eq!(
            deep(&format!("a: {}", "[".repeat(100_000))),
            Some((1, n + 3))
        );
    }

    #[test]
    fn block_nesting_counts_indentation_and_compact_entries() {
        let n = MAX_NESTING;
        let mapping = |levels: usize| -> String {
            (0..levels)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect()
        };
        assert_eq!(deep(&mapping(n)), None);
        assert_eq!(deep(&mapping(n + 1)), Some((n + 1, n + 1)));
        // An indentless sequence (`-` under its key's column) opens no indentation.
        assert_eq!(deep(&format!("a:\n{}x\n", "- ".repeat(n))), None);
        assert_eq!(
            deep(&format!("a:\n{}x\n", "- ".repeat(n + 1))),
            Some((2, 2 * n + 1))
        );
        assert_eq!(deep(&format!("{}x\n", "- ".repeat(n))), None);
        // Lines to the left close what was open: siblings do not add up.
        let siblings: String = (0..5000).map(|i| format!("k{i}:\n  - a: 1\n")).collect();
        assert_eq!(deep(&siblings), None);
        let mixed = format!("{}{}{}", mapping(600), " ".repeat(600), "[".repeat(401));
        assert_eq!(deep(&mixed), Some((601, 600 + 401)));
    }

    #[test]
    fn brackets_and_indentation_inside_text_do_not_count() {
        let b = "[".repeat(2 * MAX_NESTING);
        let config = format!(
            "# {b}\n\
             kanban:\n  title: \"{b}\"\n  other: '{b}''{b}'\n  plain: x{b}\n\
             \x20 prompt: |\n    {b}\n\n    {b}\n  folded: >-\n{lines}\
             \x20 flow: [\"]]]{b}\", '{b}', x # {b}\n    ]\n\
             model: {{a: \"{b}\"}}\n",
            lines = (1..=MAX_NESTING + 1)
                .map(|i| format!("{}x:\n", " ".repeat(i + 3)))
                .collect::<String>(),
        );
        assert_eq!(deep(&config), None);
        let parsed = yaml11::load(&config, MAX_NESTING).unwrap();
        let title = parsed.get("kanban").and_then(|k| k.get("title"));
        assert_eq!(title.and_then(Object::as_str), Some(b.as_str()));
    }

    #[test]
    fn odd_bytes_end_the_scan_without_hanging() {
        for text in [
            "a: [\0[",
            "\0",
            "a:\r\n  b: [1]\r\n",
            "\u{feff}a: 1",
            "a: \"\\",
            "- |\n\0\n",
        ] {
            assert_eq!(deep(text), None, "{text:?}");
        }
        assert_eq!(deep("\r\r[[[["), None);
        assert!(nesting_beyond("\r\r[[[[", 3).is_some());
    }

    #[test]
    fn kanban_section_without_limit_keeps_defaults() {
        let c = cfg("kanban:\n  auto_decompose: false\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!(3)));
        assert_eq!(get(&c, "failure_limit"), Some(json!(5)));
    }

    #[test]
    fn stock_defaults_without_a_config_have_threshold_two_and_no_limit() {
        // No `failure_limit` at all: `repeated_failures` quotes its threshold as the limit.
        for c in [stock("{}"), stock("model: x\n"), stock("~")] {
            assert_eq!(merged(&c), [Some(json!(2)), None, Some(json!(2))]);
            assert_eq!(get(&c, "spawn_failure_threshold"), Some(json!(2)));
            assert_eq!(
                header(&c),
                [
                    (Some(2), "default", false),
                    (Some(2), "default", false),
                    (Some(2), "default", false)
                ]
            );
        }
    }

    #[test]
    fn stock_defaults_inject_limit_two_into_any_kanban_section() {
        for yaml in ["kanban: {}\n", "kanban:\n  auto_decompose: false\n"] {
            let c = stock(yaml);
            assert_eq!(merged(&c), [Some(json!(2)), Some(json!(2)), Some(json!(2))]);
            assert_eq!(header(&c)[1], (Some(2), "default", false));
        }
        // Beside an explicit threshold the injected limit stays 2, whatever the threshold.
        let c = stock("kanban:\n  diagnostics:\n    failure_threshold: 4\n");
        assert_eq!(merged(&c), [Some(json!(4)), Some(json!(2)), Some(json!(2))]);
        assert_eq!(
            header(&c)[..2],
            [
                (Some(4), "kanban.diagnostics.failure_threshold", false),
                (Some(2), "default", false)
            ]
        );
        // kanban-doctor's defaults inject nothing: the limit stays 5.
        let c = cfg("kanban:\n  diagnostics:\n    failure_threshold: 4\n");
        assert_eq!(merged(&c), [Some(json!(4)), Some(json!(5)), Some(json!(2))]);
    }

    #[test]
    fn stock_defaults_follow_kanban_failure_limit_unless_a_threshold_is_set() {
        let c = stock("kanban:\n  failure_limit: 4\n");
        assert_eq!(merged(&c), [Some(json!(4)), Some(json!(4)), Some(json!(2))]);
        assert_eq!(
            header(&c)[..2],
            [
                (Some(4), "kanban.failure_limit", false),
                (Some(4), "kanban.failure_limit", false)
            ]
        );
        let c = stock("kanban:\n  failure_limit: 4\n  diagnostics:\n    failure_threshold: 3\n");
        assert_eq!(merged(&c), [Some(json!(3)), Some(json!(4)), Some(json!(2))]);
        // A diagnostics limit wins over the section's, and the threshold follows it.
        let c = stock("kanban:\n  failure_limit: 4\n  diagnostics:\n    failure_limit: 6\n");
        assert_eq!(merged(&c), [Some(json!(6)), Some(json!(6)), Some(json!(2))]);
        assert_eq!(header(&c)[0].1, "kanban.diagnostics.failure_limit");
    }

    #[test]
    fn the_legacy_threshold_name_stops_the_derivation_but_never_takes_effect() {
        // Hermes: no derivation with `spawn_failure_threshold` set, and the defaults'
        // `failure_threshold` shadows it.
        let c =
            stock("kanban:\n  failure_limit: 4\n  diagnostics:\n    spawn_failure_threshold: 5\n");
        assert_eq!(merged(&c), [Some(json!(2)), Some(json!(4)), Some(json!(2))]);
        assert_eq!(header(&c)[0], (Some(2), "default", false));
        let c = stock("kanban:\n  diagnostics:\n    spawn_failure_threshold: 5\n");
        assert_eq!(merged(&c), [Some(json!(2)), Some(json!(2)), Some(json!(2))]);
        let c = cfg("kanban:\n  diagnostics:\n    spawn_failure_threshold: 5\n");
        assert_eq!(merged(&c), [Some(json!(3)), Some(json!(5)), Some(json!(2))]);
    }

    #[test]
    fn a_null_failure_limit_is_carried_through_in_both_sets() {
        for c in [
            cfg("kanban:\n  failure_limit:\n"),
            stock("kanban:\n  failure_limit:\n"),
        ] {
            assert_eq!(
                merged(&c),
                [Some(Json::Null), Some(Json::Null), Some(json!(2))]
            );
            // repeated_failures falls back to 3 for both.
            assert_eq!(
                header(&c)[..2],
                [
                    (Some(3), "kanban.failure_limit", true),
                    (Some(3), "kanban.failure_limit", true)
                ]
            );
        }
    }

    #[test]
    fn a_threshold_derived_from_an_unusable_diagnostics_limit_is_the_defaults_and_says_so() {
        let c = cfg("kanban:\n  diagnostics:\n    failure_limit: many\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!(3)));
        assert_eq!(
            header(&c)[..2],
            [
                (Some(3), "kanban.diagnostics.failure_limit", true),
                (Some(3), "kanban.diagnostics.failure_limit", true)
            ]
        );
        let c = cfg("kanban:\n  diagnostics:\n    crash_threshold: two\n");
        assert_eq!(
            header(&c)[2],
            (None, "kanban.diagnostics.crash_threshold", false)
        );
    }

    #[test]
    fn diagnostics_given_as_pairs_are_applied_as_dict_reads_them() {
        let c = cfg("kanban:\n  diagnostics: [[failure_threshold, 4], [crash_threshold, 3]]\n");
        assert_eq!(merged(&c), [Some(json!(4)), Some(json!(5)), Some(json!(3))]);
        assert_eq!(header(&c)[0].1, "kanban.diagnostics.failure_threshold");
        // A two-key mapping inside the list is one pair: its two keys.
        let c = cfg("kanban:\n  diagnostics:\n    - {failure_threshold: x, 4: y}\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!("4")));
        // Falsy values are `{}`.
        for empty in ["0", "''", "[]", "false", "~"] {
            let c = cfg(&format!("kanban:\n  diagnostics: {empty}\n"));
            assert_eq!(merged(&c), [Some(json!(3)), Some(json!(5)), Some(json!(2))]);
        }
    }

    #[test]
    fn diagnostics_that_dict_refuses_refuse_the_config() {
        for bad in ["5", "yes", "[[failure_threshold, 4, 5]]", "[1]", "abc"] {
            let raw =
                yaml11::load(&format!("kanban:\n  diagnostics: {bad}\n"), MAX_NESTING).unwrap();
            let e = DiagConfig::from_runtime(&raw, Some("c.yaml".into()), Defaults::Unified)
                .unwrap_err();
            assert!(
                matches!(&e, Error::ConfigDiagnostics { path, .. } if path == Path::new("c.yaml")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn yaml_1_1_spellings_reach_the_thresholds() {
        // `yes` is True, and int(True) is 1; `010` is octal; `1:04` sexagesimal.
        let c = cfg("kanban:\n  failure_limit: yes\n");
        assert_eq!(get(&c, "failure_threshold"), Some(json!(true)));
        assert_eq!(header(&c)[0], (Some(1), "kanban.failure_limit", false));
        assert_eq!(
            get(&cfg("kanban:\n  failure_limit: 010\n"), "failure_limit"),
            Some(json!(8))
        );
        let c = cfg("kanban:\n  diagnostics:\n    stranded_threshold_seconds: 1:04\n");
        assert_eq!(get(&c, "stranded_threshold_seconds"), Some(json!(64)));
        // `4e0` is a string to PyYAML, and int('4e0') raises: the default.
        let c = cfg("kanban:\n  diagnostics:\n    failure_threshold: 4e0\n");
        assert_eq!(
            header(&c)[0],
            (Some(3), "kanban.diagnostics.failure_threshold", true)
        );
    }

    #[test]
    fn the_breaker_limit_of_the_kernel_follows_the_defaults() {
        assert_eq!(Defaults::Unified.breaker_limit(), 5);
        assert_eq!(Defaults::Hermes019.breaker_limit(), 2);
        assert_eq!(stock("{}").defaults(), Defaults::Hermes019);
    }
}
