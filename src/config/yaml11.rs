//! `config.yaml` read as Hermes reads it: PyYAML's `safe_load`, YAML 1.1.
//!
//! Hermes loads its config with PyYAML's safe loader, whose resolver is YAML 1.1's: `no`,
//! `off` and `Yes` are booleans, `010` is octal, `1:04` is sixty-four, `4e0` is text (a
//! float needs a dot and its exponent a sign). A YAML 1.2 reader disagrees on all of these,
//! and the rules then see other settings than Hermes does. So the config is read in the
//! three stages PyYAML has:
//!
//! 1. **Events** from libyaml ([`super::events`]): the syntax, with each scalar's style,
//!    tag and anchor.
//! 2. **Composition** into a graph of nodes: an alias is the node its anchor names (an
//!    undefined alias or an anchor used twice is an error, as in PyYAML), and each node's
//!    tag is resolved: an explicit tag stands; a plain scalar without one, or any scalar
//!    tagged with the non-specific `!`, gets the tag of the first YAML 1.1 pattern it
//!    matches ([`resolve_plain`]); any other scalar is a string.
//! 3. **Construction** of the value, tag by tag as `SafeConstructor` does: merge keys
//!    (`<<`) flattened first (the mapping's own keys win, and of several merged mappings
//!    the earlier), later duplicates replacing earlier ones, unhashable keys refused, and
//!    every conversion that raises in Python (`!!int abc`, `!!bool 1`, a 30th of February)
//!    an error with the node's position.
//!
//! The value is a `serde_json::Value`, which cannot hold everything Python can. Where it
//! cannot, the value is the one kanban-doctor read before this module: infinities, NaN and
//! integers beyond 64 bits are null; timestamps and `!!binary` stay their text; a set is
//! an array of its members and `!!omap`/`!!pairs` arrays of `[key, value]` pairs; a key
//! that is not a string is spelled as Python's `str()` spells it. A node that contains
//! itself (`&a [*a]`) is refused, as is an alias expansion far larger than the file.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::events::{Event, Mark, Parser, Props, Style, SyntaxError};
use crate::py;

/// Why a text is not a config, and where (1-based; 0 when there is no position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    fn at(mark: Mark, message: impl Into<String>) -> Self {
        YamlError {
            line: mark.line + 1,
            column: mark.column + 1,
            message: message.into(),
        }
    }

    fn syntax(e: &SyntaxError, text: &str) -> Self {
        let m = e.problem_mark;
        let (line, column) = if m.line == 0 && m.column == 0 && e.problem_offset != 0 {
            // A reader error (a character YAML does not allow) names a byte offset only.
            position_of_offset(text, e.problem_offset)
        } else {
            (m.line + 1, m.column + 1)
        };
        YamlError {
            line,
            column,
            message: e.to_string(),
        }
    }
}

/// The 1-based line and column of a byte offset, breaking lines where YAML does.
fn position_of_offset(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let mut line = 1;
    let mut column = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    (line, column)
}

/// The YAML 1.1 tags the safe loader knows.
pub mod tag {
    pub const NULL: &str = "tag:yaml.org,2002:null";
    pub const BOOL: &str = "tag:yaml.org,2002:bool";
    pub const INT: &str = "tag:yaml.org,2002:int";
    pub const FLOAT: &str = "tag:yaml.org,2002:float";
    pub const STR: &str = "tag:yaml.org,2002:str";
    pub const SEQ: &str = "tag:yaml.org,2002:seq";
    pub const MAP: &str = "tag:yaml.org,2002:map";
    pub const SET: &str = "tag:yaml.org,2002:set";
    pub const OMAP: &str = "tag:yaml.org,2002:omap";
    pub const PAIRS: &str = "tag:yaml.org,2002:pairs";
    pub const BINARY: &str = "tag:yaml.org,2002:binary";
    pub const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
    pub const MERGE: &str = "tag:yaml.org,2002:merge";
    /// The `=` key; a value tag with no constructor.
    pub const VALUE: &str = "tag:yaml.org,2002:value";
    /// `!`, `&` or `*` as a scalar; no constructor either.
    pub const YAML: &str = "tag:yaml.org,2002:yaml";
    /// The non-specific tag: resolve as if untagged, even a quoted scalar.
    pub const NON_SPECIFIC: &str = "!";
}

/// Read a config text. An empty text, or one of comments only, is `null`.
pub fn load(text: &str, max_depth: usize) -> Result<Json, YamlError> {
    let graph = compose(text)?;
    match graph.root {
        None => Ok(Json::Null),
        Some(root) => {
            let mut b = Builder {
                nodes: &graph.nodes,
                // PyYAML shares an aliased node; a JSON value copies it. Allow copies up
                // to a hundred times the document (and never fewer than 10 000 nodes)
                // before calling it an expansion attack, as the YAML reader before did.
                budget: graph.nodes.len().saturating_mul(100).max(10_000),
                max_depth,
            };
            Ok(b.build(root, 0)?.json)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Resolution: the tag of a plain scalar.
// ---------------------------------------------------------------------------------------

/// A pattern of the resolver and the tag it gives.
type Pattern = (fn(&str) -> bool, &'static str);

/// The tag PyYAML's resolver gives an untagged plain scalar (or one tagged `!`).
///
/// PyYAML tries, in order, the patterns for bool, float, int, merge, null, timestamp,
/// value and yaml, each anchored with `^…$`; in Python `$` also matches before one final
/// line break, so `"5\n"` resolves as `"5"` does (only a scalar tagged `!` can end in one).
pub fn resolve_plain(value: &str) -> &'static str {
    if value.is_empty() {
        return tag::NULL;
    }
    let core = value.strip_suffix('\n').unwrap_or(value);
    if core.is_empty() {
        // PyYAML picks patterns by the first character: a lone line break has none.
        return tag::STR;
    }
    let patterns: [Pattern; 8] = [
        (is_bool, tag::BOOL),
        (is_float, tag::FLOAT),
        (is_int, tag::INT),
        (|s| s == "<<", tag::MERGE),
        (is_null, tag::NULL),
        (is_timestamp, tag::TIMESTAMP),
        (|s| s == "=", tag::VALUE),
        (|s| matches!(s, "!" | "&" | "*"), tag::YAML),
    ];
    patterns
        .iter()
        .find(|(matches, _)| matches(core))
        .map_or(tag::STR, |&(_, t)| t)
}

/// `yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF`: each word
/// in lower case, capitalised or upper case, and no other mix.
fn is_bool(s: &str) -> bool {
    ["yes", "no", "true", "false", "on", "off"].iter().any(|w| {
        let mut capitalised = w[..1].to_ascii_uppercase();
        capitalised.push_str(&w[1..]);
        s == *w || s == capitalised || s == w.to_ascii_uppercase()
    })
}

/// `~|null|Null|NULL` (the empty scalar is handled by the caller).
fn is_null(s: &str) -> bool {
    matches!(s, "~" | "null" | "Null" | "NULL")
}

/// A run of `[0-9_]` of at least `min` characters at the start of `s`: its length.
fn digits_(s: &[u8], min: usize) -> Option<usize> {
    let n = s
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'_')
        .count();
    (n >= min).then_some(n)
}

/// Strip one leading `-` or `+`.
fn unsigned(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

/// The float pattern, one branch per line of PyYAML's:
/// - `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?`: digits, a dot, an optional exponent
///   that must have a sign;
/// - `\.[0-9][0-9_]*([eE][-+][0-9]+)?`: a leading dot, no sign allowed;
/// - `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`: sexagesimal with a fraction;
/// - `[-+]?\.(inf|Inf|INF)` and `\.(nan|NaN|NAN)`.
fn is_float(s: &str) -> bool {
    let exponent_ok = |e: &[u8]| match e {
        [] => true,
        [b'e' | b'E', b'-' | b'+', rest @ ..] => {
            !rest.is_empty() && rest.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    let u = unsigned(s);
    let b = u.as_bytes();
    // Branch 1: a digit first, then [0-9_]*, a dot, [0-9_]*, an exponent.
    if b.first().is_some_and(u8::is_ascii_digit) {
        let int_len = digits_(b, 1).unwrap_or(0);
        if b.get(int_len) == Some(&b'.') {
            let frac = &b[int_len + 1..];
            let frac_len = digits_(frac, 0).unwrap_or(0);
            if exponent_ok(&frac[frac_len..]) {
                return true;
            }
        }
    }
    // Branch 2: no sign, a dot, a digit, [0-9_]*, an exponent.
    if let Some(rest) = s.strip_prefix('.') {
        let r = rest.as_bytes();
        if r.first().is_some_and(u8::is_ascii_digit) {
            let n = digits_(r, 1).unwrap_or(0);
            if exponent_ok(&r[n..]) {
                return true;
            }
        }
    }
    // Branch 3: sexagesimal, then a dot and [0-9_]*.
    if let Some(rest) = sexagesimal_tail(b)
        && let Some(frac) = rest.strip_prefix(b".")
        && digits_(frac, 0) == Some(frac.len())
    {
        return true;
    }
    matches!(u, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN")
}

/// `[0-9][0-9_]*(:[0-5]?[0-9])+` at the start of `b` (which has no sign): what follows
/// it, or `None` when `b` does not start so. The first digit may be `0` (the float
/// pattern); the int pattern checks for `[1-9]` itself.
fn sexagesimal_tail(b: &[u8]) -> Option<&[u8]> {
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut rest = &b[digits_(b, 1)?..];
    let mut groups = 0;
    // Each group is `:` then one or two digits, the first of two at most 5. The regex
    // backtracks; a group of two digits followed by a third is the same as a group of
    // one followed by a digit that cannot continue, so taking the longest group is exact.
    while let [b':', d, tail @ ..] = rest {
        if !d.is_ascii_digit() {
            break;
        }
        rest = match tail {
            [e, more @ ..] if (b'0'..=b'5').contains(d) && e.is_ascii_digit() => more,
            _ => tail,
        };
        groups += 1;
    }
    (groups > 0).then_some(rest)
}

/// The int pattern:
/// - `[-+]?0b[0-1_]+`: binary;
/// - `[-+]?0[0-7_]+`: octal (a leading zero);
/// - `[-+]?(0|[1-9][0-9_]*)`: decimal;
/// - `[-+]?0x[0-9a-fA-F_]+`: hexadecimal;
/// - `[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`: sexagesimal.
fn is_int(s: &str) -> bool {
    let u = unsigned(s).as_bytes();
    let all = |t: &[u8], ok: fn(&u8) -> bool| !t.is_empty() && t.iter().all(ok);
    match u {
        [b'0', b'b', t @ ..] => all(t, |c| matches!(c, b'0' | b'1' | b'_')),
        [b'0', b'x', t @ ..] => all(t, |c| c.is_ascii_hexdigit() || *c == b'_'),
        [b'0'] => true,
        [b'0', t @ ..] => all(t, |c| matches!(c, b'0'..=b'7' | b'_')),
        [b'1'..=b'9', ..] => {
            digits_(u, 1) == Some(u.len()) || sexagesimal_tail(u).is_some_and(<[u8]>::is_empty)
        }
        _ => false,
    }
}

/// A timestamp, by the resolver's pattern (`date_only_two_digits`: `YYYY-MM-DD` alone, or
/// with a time and then one- or two-digit month and day) or by the constructor's (one or
/// two digits either way). Its parts, or `None` when it does not match.
fn timestamp_parts(s: &str, date_only_two_digits: bool) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |t: &[u8]| -> u32 { t.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')) };
    // One or two digits at the start: their count.
    let one_or_two = |t: &[u8]| match t {
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => Some(2),
        [a, ..] if a.is_ascii_digit() => Some(1),
        _ => None,
    };
    if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) || b.get(4) != Some(&b'-') {
        return None;
    }
    let year = num(&b[..4]);
    let mut i = 5;
    let m = one_or_two(&b[i..])?;
    let month = num(&b[i..i + m]);
    i += m;
    if b.get(i) != Some(&b'-') {
        return None;
    }
    i += 1;
    let d = one_or_two(&b[i..])?;
    let day = num(&b[i..i + d]);
    i += d;
    let mut ts = Timestamp {
        year,
        month,
        day,
        time: None,
    };
    if i == b.len() {
        return (!date_only_two_digits || (m == 2 && d == 2)).then_some(ts);
    }
    // The separator: `T`, `t`, or spaces and tabs.
    match b[i] {
        b'T' | b't' => i += 1,
        b' ' | b'\t' => {
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        }
        _ => return None,
    }
    let h = one_or_two(&b[i..])?;
    let hour = num(&b[i..i + h]);
    i += h;
    let two = |i: &mut usize| -> Option<u32> {
        match b.get(*i..*i + 3) {
            Some([b':', x, y]) if x.is_ascii_digit() && y.is_ascii_digit() => {
                *i += 3;
                Some(num(&[*x, *y]))
            }
            _ => None,
        }
    };
    let minute = two(&mut i)?;
    let second = two(&mut i)?;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    // The zone: `Z`, or a sign, one or two digits of hours and optional `:MM`.
    let mut offset_minutes = 0i64;
    match b.get(i) {
        None => {}
        Some(b'Z') => i += 1,
        Some(&sign @ (b'-' | b'+')) => {
            i += 1;
            let th = one_or_two(&b[i..])?;
            let mut minutes = i64::from(num(&b[i..i + th])) * 60;
            i += th;
            if let Some(Some(tm)) = (b.get(i) == Some(&b':')).then(|| two(&mut i)) {
                minutes += i64::from(tm);
            }
            offset_minutes = if sign == b'-' { -minutes } else { minutes };
        }
        Some(_) => return None,
    }
    if i != b.len() {
        return None;
    }
    ts.time = Some((hour, minute, second, offset_minutes));
    Some(ts)
}

/// The parts of a timestamp that Python's `datetime` checks.
struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    /// Hour, minute, second and the zone's offset in minutes.
    time: Option<(u32, u32, u32, i64)>,
}

impl Timestamp {
    /// What `datetime.date`/`datetime.datetime`/`datetime.timezone` raise on, if anything.
    fn python_error(&self) -> Option<String> {
        let leap =
            |y: u32| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
        let days = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if leap(self.year) => 29,
            _ => 28,
        };
        if !(1..=9999).contains(&self.year) {
            return Some(format!("ValueError: year {} is out of range", self.year));
        }
        if !(1..=12).contains(&self.month) {
            return Some("ValueError: month must be in 1..12".into());
        }
        if !(1..=days).contains(&self.day) {
            return Some("ValueError: day is out of range for month".into());
        }
        let (hour, minute, second, offset) = self.time?;
        if hour > 23 {
            return Some("ValueError: hour must be in 0..23".into());
        }
        if minute > 59 {
            return Some("ValueError: minute must be in 0..59".into());
        }
        if second > 59 {
            return Some("ValueError: second must be in 0..59".into());
        }
        if offset.abs() >= 24 * 60 {
            return Some(
                "ValueError: offset must be a timedelta strictly between \
                 -timedelta(hours=24) and timedelta(hours=24)"
                    .into(),
            );
        }
        None
    }
}

fn is_timestamp(s: &str) -> bool {
    timestamp_parts(s, true).is_some()
}

// ---------------------------------------------------------------------------------------
// Composition: events to a graph of nodes.
// ---------------------------------------------------------------------------------------

type NodeId = usize;

#[derive(Debug)]
enum Content {
    Scalar(String),
    Seq(Vec<NodeId>),
    /// Pairs in document order, duplicates included.
    Map(Vec<(NodeId, NodeId)>),
}

#[derive(Debug)]
struct Node {
    /// The resolved tag.
    tag: String,
    content: Content,
    mark: Mark,
}

impl Node {
    /// PyYAML's name for the node's kind, in its messages.
    fn kind(&self) -> &'static str {
        match self.content {
            Content::Scalar(_) => "scalar",
            Content::Seq(_) => "sequence",
            Content::Map(_) => "mapping",
        }
    }
}

struct Graph {
    nodes: Vec<Node>,
    root: Option<NodeId>,
}

/// Whether a start event opens a mapping.
enum Kind {
    Map,
    Other,
}

/// A collection being composed, and for a mapping the key awaiting its value.
struct Open {
    id: NodeId,
    key: Option<NodeId>,
}

fn compose(text: &str) -> Result<Graph, YamlError> {
    let mut parser = Parser::new(text);
    let mut next = || parser.next_event().map_err(|e| YamlError::syntax(&e, text));
    let mut nodes: Vec<Node> = Vec::new();
    let mut anchors: HashMap<String, (NodeId, Mark)> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut open: HashSet<NodeId> = HashSet::new();
    let mut root = None;

    // StreamStart, then either StreamEnd (no document) or the one document.
    next()?;
    let (first, _) = next()?;
    if first == Event::StreamEnd {
        return Ok(Graph { nodes, root });
    }
    let mut document_mark = None;
    loop {
        let (event, mark) = next()?;
        document_mark.get_or_insert(mark);
        let event_kind = match event {
            Event::MappingStart(_) => Kind::Map,
            _ => Kind::Other,
        };
        let id = match event {
            Event::DocumentEnd => break,
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(done) = stack.pop() {
                    open.remove(&done.id);
                }
                continue;
            }
            Event::Alias(name) => match anchors.get(&name) {
                None => {
                    return Err(YamlError::at(
                        mark,
                        format!("found undefined alias {}", py::str_repr(&name)),
                    ));
                }
                Some((id, _)) if open.contains(id) => {
                    return Err(YamlError::at(
                        mark,
                        format!(
                            "alias {} refers to a collection that contains it; such a \
                             recursive value cannot be read",
                            py::str_repr(&name)
                        ),
                    ));
                }
                Some(&(id, _)) => id,
            },
            Event::Scalar {
                props,
                value,
                style,
            } => {
                let tag = match props.tag.as_deref() {
                    None if style == Style::Plain => resolve_plain(&value),
                    None => tag::STR,
                    Some(tag::NON_SPECIFIC) => resolve_plain(&value),
                    Some(t) => t,
                }
                .to_string();
                let id = nodes.len();
                register(&mut anchors, &props, id, mark)?;
                nodes.push(Node {
                    tag,
                    content: Content::Scalar(value),
                    mark,
                });
                id
            }
            Event::SequenceStart(props) | Event::MappingStart(props) => {
                let (content, default) = if matches!(event_kind, Kind::Map) {
                    (Content::Map(Vec::new()), tag::MAP)
                } else {
                    (Content::Seq(Vec::new()), tag::SEQ)
                };
                let tag = match props.tag.as_deref() {
                    None | Some(tag::NON_SPECIFIC) => default,
                    Some(t) => t,
                }
                .to_string();
                let id = nodes.len();
                register(&mut anchors, &props, id, mark)?;
                nodes.push(Node { tag, content, mark });
                // Attached now, so that it takes its place before its children.
                attach(&mut nodes, &mut stack, &mut root, id);
                stack.push(Open { id, key: None });
                open.insert(id);
                continue;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart => continue,
        };
        attach(&mut nodes, &mut stack, &mut root, id);
    }
    // One document only: `yaml.safe_load` refuses a second.
    let (after, mark) = next()?;
    if after != Event::StreamEnd {
        let first = document_mark.unwrap_or_default();
        return Err(YamlError::at(
            mark,
            format!(
                "expected a single document in the stream (it starts at line {} column {}), \
                 but found another document",
                first.line + 1,
                first.column + 1
            ),
        ));
    }
    Ok(Graph { nodes, root })
}

/// Remember a node's anchor; PyYAML refuses a name given twice in one document.
fn register(
    anchors: &mut HashMap<String, (NodeId, Mark)>,
    props: &Props,
    id: NodeId,
    mark: Mark,
) -> Result<(), YamlError> {
    if let Some(name) = &props.anchor {
        if let Some((_, first)) = anchors.get(name) {
            return Err(YamlError::at(
                mark,
                format!(
                    "found duplicate anchor {}; first occurrence at line {} column {}, second \
                     occurrence here",
                    py::str_repr(name),
                    first.line + 1,
                    first.column + 1
                ),
            ));
        }
        anchors.insert(name.clone(), (id, mark));
    }
    Ok(())
}

/// Add a finished (or just opened) node to the collection being composed.
fn attach(nodes: &mut [Node], stack: &mut [Open], root: &mut Option<NodeId>, id: NodeId) {
    let Some(top) = stack.last_mut() else {
        *root = Some(id);
        return;
    };
    match &mut nodes[top.id].content {
        Content::Seq(items) => items.push(id),
        Content::Map(pairs) => match top.key.take() {
            None => top.key = Some(id),
            Some(key) => pairs.push((key, id)),
        },
        Content::Scalar(_) => {}
    }
}

// ---------------------------------------------------------------------------------------
// Construction: nodes to a value.
// ---------------------------------------------------------------------------------------

/// A constructed value and what Python would make of it as a mapping key.
struct Built {
    json: Json,
    key: Key,
}

enum Key {
    /// A `str`: the key as it is.
    Str,
    /// Hashable but not a `str`: spelled as Python's `str()` spells it.
    Other(String),
    /// A list, dict or set: Python's `TypeError`.
    Unhashable,
}

struct Builder<'a> {
    nodes: &'a [Node],
    /// Nodes that may still be built (copies of aliased nodes count again).
    budget: usize,
    max_depth: usize,
}

impl Builder<'_> {
    fn build(&mut self, id: NodeId, depth: usize) -> Result<Built, YamlError> {
        let node = &self.nodes[id];
        if depth > self.max_depth {
            return Err(YamlError::at(
                node.mark,
                format!(
                    "nested more than {} levels deep (the limit for a config file)",
                    self.max_depth
                ),
            ));
        }
        if self.budget == 0 {
            return Err(YamlError::at(
                node.mark,
                "aliases expand to far more values than the file holds (a config file may \
                 repeat its anchors about a hundred times over)",
            ));
        }
        self.budget -= 1;
        let err = |message: String| YamlError::at(node.mark, message);
        let other = |json: Json, text: String| Built {
            json,
            key: Key::Other(text),
        };
        match node.tag.as_str() {
            tag::STR => {
                let s = self.scalar(id)?.to_string();
                Ok(Built {
                    json: Json::String(s),
                    key: Key::Str,
                })
            }
            tag::NULL => {
                self.scalar(id)?;
                Ok(other(Json::Null, "None".into()))
            }
            tag::BOOL => {
                let s = self.scalar(id)?;
                let b = match s.to_lowercase().as_str() {
                    "yes" | "true" | "on" => true,
                    "no" | "false" | "off" => false,
                    _ => return Err(err(format!("KeyError: {}", py::str_repr(s)))),
                };
                let text = if b { "True" } else { "False" };
                Ok(other(Json::Bool(b), text.into()))
            }
            tag::INT => {
                let s = self.scalar(id)?;
                match construct_int(s).map_err(err)? {
                    Some(n) => Ok(other(int_json(n), n.to_string())),
                    // Beyond what JSON holds here: null, as before (the text as its key).
                    None => Ok(other(Json::Null, s.to_string())),
                }
            }
            tag::FLOAT => {
                let s = self.scalar(id)?;
                let x = construct_float(s).map_err(err)?;
                let json = serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number);
                let text = if x.is_nan() {
                    "nan".to_string()
                } else if x.is_infinite() {
                    if x > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    py::float_repr(x)
                };
                Ok(other(json, text))
            }
            tag::TIMESTAMP => {
                let s = self.scalar(id)?;
                let core = s.strip_suffix('\n').unwrap_or(s);
                let parts = timestamp_parts(core, false).ok_or_else(|| {
                    err(
                        "AttributeError: 'NoneType' object has no attribute 'groupdict' \
                         (not a timestamp)"
                            .into(),
                    )
                })?;
                if let Some(e) = parts.python_error() {
                    return Err(err(e));
                }
                Ok(other(Json::String(s.to_string()), s.to_string()))
            }
            tag::BINARY => {
                let s = self.scalar(id)?;
                if !s.is_ascii() {
                    return Err(err(
                        "failed to convert base64 data into ascii: the text is not ASCII".into(),
                    ));
                }
                if let Some(e) = base64_error(s) {
                    return Err(err(format!("failed to decode base64 data: {e}")));
                }
                Ok(other(Json::String(s.to_string()), s.to_string()))
            }
            tag::SEQ => {
                let Content::Seq(items) = &node.content else {
                    return Err(err(format!(
                        "expected a sequence node, but found {}",
                        node.kind()
                    )));
                };
                let mut out = Vec::with_capacity(items.len());
                for &item in items {
                    out.push(self.build(item, depth + 1)?.json);
                }
                Ok(Built {
                    json: Json::Array(out),
                    key: Key::Unhashable,
                })
            }
            tag::MAP => {
                let map = self.mapping(id, depth)?;
                Ok(Built {
                    json: Json::Object(map.into_iter().map(|(k, v, _)| (k, v)).collect()),
                    key: Key::Unhashable,
                })
            }
            tag::SET => {
                // A set holds the mapping's keys (its values are built, then dropped).
                let map = self.mapping(id, depth)?;
                Ok(Built {
                    json: Json::Array(map.into_iter().map(|(_, _, key)| key).collect()),
                    key: Key::Unhashable,
                })
            }
            tag::OMAP | tag::PAIRS => self.pairs(id, depth),
            other_tag => Err(err(format!(
                "could not determine a constructor for the tag {}",
                py::str_repr(other_tag)
            ))),
        }
    }

    /// The text of a scalar node, as `construct_scalar` finds it: a mapping stands for
    /// the value of its `=` key, if it has one.
    fn scalar(&self, id: NodeId) -> Result<&str, YamlError> {
        let node = &self.nodes[id];
        match &node.content {
            Content::Scalar(s) => Ok(s),
            Content::Map(pairs) => {
                if let Some(&(_, v)) = pairs.iter().find(|(k, _)| self.nodes[*k].tag == tag::VALUE)
                {
                    return self.scalar(v);
                }
                Err(YamlError::at(
                    node.mark,
                    "expected a scalar node, but found mapping",
                ))
            }
            Content::Seq(_) => Err(YamlError::at(
                node.mark,
                "expected a scalar node, but found sequence",
            )),
        }
    }

    /// The pairs of a mapping with its merge keys applied (`flatten_mapping`): the merged
    /// mappings' pairs first, so that the mapping's own keys, coming later, win; of a list
    /// of merged mappings the last goes first, so the earlier ones win. An `=` key is read
    /// as the string `=`. The flag marks keys to construct as strings.
    fn flatten(&self, id: NodeId, seen: usize) -> Result<Vec<(NodeId, bool, NodeId)>, YamlError> {
        let node = &self.nodes[id];
        let Content::Map(pairs) = &node.content else {
            return Err(YamlError::at(
                node.mark,
                format!("expected a mapping node, but found {}", node.kind()),
            ));
        };
        if seen > self.max_depth {
            return Err(YamlError::at(
                node.mark,
                "merge keys nest too deeply (the limit for a config file)",
            ));
        }
        let mut merged = Vec::new();
        let mut own = Vec::new();
        for &(k, v) in pairs {
            match self.nodes[k].tag.as_str() {
                tag::MERGE => {
                    let value = &self.nodes[v];
                    match &value.content {
                        Content::Map(_) => merged.extend(self.flatten(v, seen + 1)?),
                        Content::Seq(items) => {
                            let mut each = Vec::new();
                            for &item in items {
                                let sub = &self.nodes[item];
                                if !matches!(sub.content, Content::Map(_)) {
                                    return Err(YamlError::at(
                                        sub.mark,
                                        format!(
                                            "while constructing a mapping, expected a mapping \
                                             for merging, but found {}",
                                            sub.kind()
                                        ),
                                    ));
                                }
                                each.push(self.flatten(item, seen + 1)?);
                            }
                            for sub in each.into_iter().rev() {
                                merged.extend(sub);
                            }
                        }
                        Content::Scalar(_) => {
                            return Err(YamlError::at(
                                value.mark,
                                "while constructing a mapping, expected a mapping or list of \
                                 mappings for merging, but found scalar",
                            ));
                        }
                    }
                }
                tag::VALUE => own.push((k, true, v)),
                _ => own.push((k, false, v)),
            }
        }
        merged.extend(own);
        Ok(merged)
    }

    /// A mapping as `construct_mapping` builds a dict: keys in first-seen order, the last
    /// value of a duplicated key. Each entry keeps the built key too (a set's member).
    fn mapping(
        &mut self,
        id: NodeId,
        depth: usize,
    ) -> Result<Vec<(String, Json, Json)>, YamlError> {
        let pairs = self.flatten(id, 0)?;
        let mut out: Vec<(String, Json, Json)> = Vec::with_capacity(pairs.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for (k, as_str, v) in pairs {
            let key = if as_str {
                Built {
                    json: Json::String("=".into()),
                    key: Key::Str,
                }
            } else {
                self.build(k, depth + 1)?
            };
            let name = match key.key {
                Key::Str => match &key.json {
                    Json::String(s) => s.clone(),
                    _ => String::new(),
                },
                Key::Other(text) => text,
                Key::Unhashable => {
                    return Err(YamlError::at(
                        self.nodes[k].mark,
                        "while constructing a mapping, found unhashable key",
                    ));
                }
            };
            let value = self.build(v, depth + 1)?.json;
            match index.get(&name) {
                Some(&i) => out[i].1 = value,
                None => {
                    index.insert(name.clone(), out.len());
                    out.push((name, value, key.json));
                }
            }
        }
        Ok(out)
    }

    /// `!!omap` and `!!pairs`: a sequence of one-pair mappings, as `[key, value]` arrays.
    fn pairs(&mut self, id: NodeId, depth: usize) -> Result<Built, YamlError> {
        let node = &self.nodes[id];
        let what = if node.tag == tag::OMAP {
            "an ordered map"
        } else {
            "pairs"
        };
        let Content::Seq(items) = &node.content else {
            return Err(YamlError::at(
                node.mark,
                format!(
                    "while constructing {what}, expected a sequence, but found {}",
                    node.kind()
                ),
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for &item in items {
            let sub = &self.nodes[item];
            let pair = match &sub.content {
                Content::Map(pairs) if pairs.len() == 1 => pairs[0],
                Content::Map(pairs) => {
                    return Err(YamlError::at(
                        sub.mark,
                        format!(
                            "while constructing {what}, expected a single mapping item, but \
                             found {} items",
                            pairs.len()
                        ),
                    ));
                }
                _ => {
                    return Err(YamlError::at(
                        sub.mark,
                        format!(
                            "while constructing {what}, expected a mapping of length 1, but \
                             found {}",
                            sub.kind()
                        ),
                    ));
                }
            };
            let key = self.build(pair.0, depth + 2)?.json;
            let value = self.build(pair.1, depth + 2)?.json;
            out.push(Json::Array(vec![key, value]));
        }
        Ok(Built {
            json: Json::Array(out),
            key: Key::Unhashable,
        })
    }
}

/// An integer as JSON holds it: within i64 or u64.
fn int_json(n: i128) -> Json {
    if let Ok(i) = i64::try_from(n) {
        Json::from(i)
    } else if let Ok(u) = u64::try_from(n) {
        Json::from(u)
    } else {
        Json::Null
    }
}

/// `construct_yaml_int`: underscores dropped, one sign taken off, then `0` alone, `0b…`
/// binary, `0x…` hexadecimal, a leading `0` octal, `:` sexagesimal, else decimal, each
/// through Python's `int()`. `Ok(None)` for a value beyond what JSON holds here; `Err`
/// with Python's exception where it raises.
fn construct_int(text: &str) -> Result<Option<i128>, String> {
    let value = text.replace('_', "");
    let first = value
        .chars()
        .next()
        .ok_or("IndexError: string index out of range")?;
    let sign: i128 = if first == '-' { -1 } else { 1 };
    let value = if matches!(first, '-' | '+') {
        &value[1..]
    } else {
        &value[..]
    };
    let int = |s: &str, base: u32| {
        py::parse_int_base(s, base).ok_or_else(|| {
            format!(
                "ValueError: invalid literal for int() with base {base}: {}",
                py::str_repr(s)
            )
        })
    };
    let n = if value == "0" {
        Some(0)
    } else if let Some(rest) = value.strip_prefix("0b") {
        int(rest, 2)?
    } else if let Some(rest) = value.strip_prefix("0x") {
        int(rest, 16)?
    } else if value.starts_with('0') {
        int(value, 8)?
    } else if value.contains(':') {
        let mut total: Option<i128> = Some(0);
        let mut base: Option<i128> = Some(1);
        let parts = value
            .split(':')
            .map(|p| int(p, 10))
            .collect::<Result<Vec<_>, _>>()?;
        for part in parts.into_iter().rev() {
            total = match (total, part, base) {
                (Some(t), Some(p), Some(b)) => p.checked_mul(b).and_then(|x| t.checked_add(x)),
                _ => None,
            };
            base = base.and_then(|b| b.checked_mul(60));
        }
        total
    } else if value.is_empty() {
        // A lone sign: `value[0]` of the empty rest.
        return Err("IndexError: string index out of range".into());
    } else {
        int(value, 10)?
    };
    Ok(n.and_then(|n| n.checked_mul(sign)))
}

/// `construct_yaml_float`: underscores dropped, lower case, one sign taken off, then
/// `.inf`, `.nan`, `:` sexagesimal (each part through `float()`), else `float()`.
fn construct_float(text: &str) -> Result<f64, String> {
    let value = text.replace('_', "").to_lowercase();
    let first = value
        .chars()
        .next()
        .ok_or("IndexError: string index out of range")?;
    let sign = if first == '-' { -1.0 } else { 1.0 };
    let value = if matches!(first, '-' | '+') {
        &value[1..]
    } else {
        &value[..]
    };
    let float = |s: &str| {
        py::parse_float(s).ok_or_else(|| {
            format!(
                "ValueError: could not convert string to float: {}",
                py::str_repr(s)
            )
        })
    };
    if value == ".inf" {
        Ok(sign * f64::INFINITY)
    } else if value == ".nan" {
        Ok(f64::NAN)
    } else if value.contains(':') {
        let parts = value.split(':').map(float).collect::<Result<Vec<_>, _>>()?;
        let mut total = 0.0;
        let mut base: u128 = 1;
        let mut overflowed = false;
        for part in parts.into_iter().rev() {
            // Python multiplies by the exact integer 60**k, rounded to a float.
            let b = if overflowed {
                f64::INFINITY
            } else {
                base as f64
            };
            total += part * b;
            match base.checked_mul(60) {
                Some(next) => base = next,
                None => overflowed = true,
            }
        }
        Ok(sign * total)
    } else {
        Ok(sign * float(value)?)
    }
}

/// Where `base64.decodebytes` (non-strict: characters outside the alphabet are skipped)
/// raises, its message.
fn base64_error(s: &str) -> Option<String> {
    let mut quad = 0usize;
    let mut pads = 0usize;
    let mut data = 0usize;
    for c in s.bytes() {
        if c == b'=' {
            pads += 1;
            if quad >= 2 && quad + pads >= 4 {
                // A complete final quantum: the rest is ignored.
                return None;
            }
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
            continue;
        }
        pads = 0;
        data += 1;
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => None,
        1 => Some(format!(
            "Invalid base64-encoded string: number of data characters ({data}) cannot be 1 \
             more than a multiple of 4"
        )),
        _ => Some("Incorrect padding".into()),
    }
}
