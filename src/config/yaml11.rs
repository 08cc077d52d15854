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

use super::events::{Event, Mark, Parser, Props, Style, SyntaxError};
use crate::py;
use crate::py::int::Int;
use crate::py::object::Object;

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
pub fn load(text: &str, max_depth: usize) -> Result<Object, YamlError> {
    let graph = compose(text)?;
    match graph.root {
        None => Ok(Object::None),
        Some(root) => {
            let mut b = Builder {
                nodes: &graph.nodes,
                // PyYAML shares an aliased node; a JSON value copies it. Allow copies up
                // to a hundred times the document (and never fewer than 10 000 nodes)
                // before calling it an expansion attack, as the YAML reader before did.
                budget: graph.nodes.len().saturating_mul(100).max(10_000),
                max_depth,
            };
            Ok(b.build(root, 0)?.value)
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
    value: Object,
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
        let other = |value: Object, text: String| Built {
            value,
            key: Key::Other(text),
        };
        match node.tag.as_str() {
            tag::STR => {
                let s = self.scalar(id)?.to_string();
                Ok(Built {
                    value: Object::Str(s),
                    key: Key::Str,
                })
            }
            tag::NULL => {
                self.scalar(id)?;
                Ok(other(Object::None, "None".into()))
            }
            tag::BOOL => {
                let s = self.scalar(id)?;
                let b = match s.to_lowercase().as_str() {
                    "yes" | "true" | "on" => true,
                    "no" | "false" | "off" => false,
                    _ => return Err(err(format!("KeyError: {}", py::str_repr(s)))),
                };
                let text = if b { "True" } else { "False" };
                Ok(other(Object::Bool(b), text.into()))
            }
            tag::INT => {
                let s = self.scalar(id)?;
                let n = construct_int(s).map_err(err)?;
                let text = n.to_string();
                Ok(other(Object::Int(n), text))
            }
            tag::FLOAT => {
                let s = self.scalar(id)?;
                let x = construct_float(s).map_err(err)?;
                let text = if x.is_nan() {
                    "nan".to_string()
                } else if x.is_infinite() {
                    if x > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    py::float_repr(x)
                };
                Ok(other(Object::Float(x), text))
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
                Ok(other(Object::Str(s.to_string()), s.to_string()))
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
                Ok(other(Object::Str(s.to_string()), s.to_string()))
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
                    out.push(self.build(item, depth + 1)?.value);
                }
                Ok(Built {
                    value: Object::List(out),
                    key: Key::Unhashable,
                })
            }
            tag::MAP => {
                let map = self.mapping(id, depth)?;
                Ok(Built {
                    value: Object::Dict(Box::new(
                        map.into_iter().map(|(k, v, _)| (k, v)).collect(),
                    )),
                    key: Key::Unhashable,
                })
            }
            tag::SET => {
                // A set holds the mapping's keys (its values are built, then dropped).
                let map = self.mapping(id, depth)?;
                Ok(Built {
                    value: Object::List(map.into_iter().map(|(_, _, key)| key).collect()),
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
    ) -> Result<Vec<(String, Object, Object)>, YamlError> {
        let pairs = self.flatten(id, 0)?;
        let mut out: Vec<(String, Object, Object)> = Vec::with_capacity(pairs.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for (k, as_str, v) in pairs {
            let key = if as_str {
                Built {
                    value: Object::Str("=".into()),
                    key: Key::Str,
                }
            } else {
                self.build(k, depth + 1)?
            };
            // Python's dict matches keys by equality: `1`, `1.0` and `True` are one key,
            // spelled as the first of them.
            let (name, identity) = match key.key {
                Key::Str => {
                    let s = key.value.as_str().unwrap_or_default().to_string();
                    let identity = format!("str:{s}");
                    (s, identity)
                }
                Key::Other(text) => {
                    let identity = format!("other:{}", key_identity(&key.value, &text));
                    (text, identity)
                }
                Key::Unhashable => {
                    return Err(YamlError::at(
                        self.nodes[k].mark,
                        "while constructing a mapping, found unhashable key",
                    ));
                }
            };
            let value = self.build(v, depth + 1)?.value;
            match index.get(&identity) {
                Some(&i) => out[i].1 = value,
                None => {
                    index.insert(identity, out.len());
                    out.push((name, value, key.value));
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
            let key = self.build(pair.0, depth + 2)?.value;
            let value = self.build(pair.1, depth + 2)?.value;
            out.push(Object::List(vec![key, value]));
        }
        Ok(Built {
            value: Object::List(out),
            key: Key::Unhashable,
        })
    }
}

/// What a key that is not a string equals in Python: numbers by value (`True == 1 == 1.0`),
/// anything else by its spelling.
fn key_identity(value: &Object, text: &str) -> String {
    let int = match value {
        Object::Bool(b) => Some(Int::Small(i64::from(*b))),
        Object::Int(i) => Some(i.clone()),
        Object::Float(f) if f.fract() == 0.0 => Int::from_f64(*f),
        _ => None,
    };
    int.map_or_else(|| text.to_string(), |i| i.to_string())
}

/// `construct_yaml_int`: underscores dropped, one sign taken off, then `0` alone, `0b…`
/// binary, `0x…` hexadecimal, a leading `0` octal, `:` sexagesimal, else decimal, each
/// through Python's `int()`, exact at any size. `Err` with Python's exception where it
/// raises (a decimal part longer than `int()`'s digit limit among them).
fn construct_int(text: &str) -> Result<Int, String> {
    let value = text.replace('_', "");
    let first = value
        .chars()
        .next()
        .ok_or("IndexError: string index out of range")?;
    let negative = first == '-';
    let value = if matches!(first, '-' | '+') {
        &value[1..]
    } else {
        &value[..]
    };
    let int = |s: &str, base: u32| {
        py::parse_int_base(s, base).map_err(|e| match e {
            py::IntBaseError::Invalid => format!(
                "ValueError: invalid literal for int() with base {base}: {}",
                py::str_repr(s)
            ),
            py::IntBaseError::TooManyDigits(n) => format!(
                "ValueError: Exceeds the limit ({} digits) for integer string conversion: value \
                 has {n} digits; use sys.set_int_max_str_digits() to increase the limit",
                crate::py::int::MAX_STR_DIGITS
            ),
        })
    };
    let n = if value == "0" {
        Int::Small(0)
    } else if let Some(rest) = value.strip_prefix("0b") {
        int(rest, 2)?
    } else if let Some(rest) = value.strip_prefix("0x") {
        int(rest, 16)?
    } else if value.starts_with('0') {
        int(value, 8)?
    } else if value.contains(':') {
        let parts = value
            .split(':')
            .map(|p| int(p, 10))
            .collect::<Result<Vec<_>, _>>()?;
        let mut total = Int::Small(0);
        let mut base = Int::Small(1);
        for part in parts.into_iter().rev() {
            total = total.add(&part.mul(&base));
            base = base.mul(&Int::Small(60));
        }
        total
    } else if value.is_empty() {
        // A lone sign: `value[0]` of the empty rest.
        return Err("IndexError: string index out of range".into());
    } else {
        int(value, 10)?
    };
    Ok(if negative { n.neg() } else { n })
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

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;

    /// Every spelling in `spellings` resolves to `expected`.
    fn resolves(expected: &str, spellings: &[&str]) {
        for s in spellings {
            assert_eq!(resolve_plain(s), expected, "{s:?}");
        }
    }

    /// A document as JSON (every value in it one JSON can hold).
    fn load_json(doc: &str) -> Json {
        serde_json::to_value(load(doc, 1000).unwrap()).unwrap()
    }

    fn value(scalar: &str) -> Result<Object, YamlError> {
        load(&format!("k: {scalar}"), 1000).map(|v| v.get("k").cloned().unwrap_or(Object::None))
    }

    /// `str()` of the value read, for values JSON cannot hold.
    fn shown(scalar: &str) -> String {
        value(scalar).unwrap().py_str()
    }

    fn fails(doc: &str) -> YamlError {
        load(doc, 1000).expect_err(doc)
    }

    // -- the resolver, one test per pattern (PyYAML's resolver.py), near-misses beside

    #[test]
    fn bool_is_each_word_in_lower_capitalised_or_upper_case_only() {
        resolves(
            tag::BOOL,
            &[
                "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
                "FALSE", "on", "On", "ON", "off", "Off", "OFF",
            ],
        );
        resolves(
            tag::STR,
            &[
                "yEs", "yES", "y", "Y", "n", "N", "tRUE", "oN", "ofF", "yes!", "ye",
            ],
        );
        assert_eq!(value("no").unwrap(), json!(false));
        assert_eq!(value("Off").unwrap(), json!(false));
        assert_eq!(value("YES").unwrap(), json!(true));
    }

    #[test]
    fn null_is_tilde_null_in_three_cases_and_the_empty_scalar() {
        resolves(tag::NULL, &["~", "null", "Null", "NULL", ""]);
        resolves(tag::STR, &["nULL", "none", "None", "~~", "NUll"]);
        assert_eq!(load_json("k:"), json!({"k": null}));
    }

    #[test]
    fn int_binary_is_0b_then_binary_digits_and_underscores() {
        resolves(tag::INT, &["0b101", "-0b1", "+0b_1", "0b_"]);
        resolves(tag::STR, &["0b2", "0B1", "0b"]);
        assert_eq!(value("0b101").unwrap(), json!(5));
        assert_eq!(value("-0b1").unwrap(), json!(-1));
        // `0b_` matches the pattern, but int('', 2) raises.
        assert!(value("0b_").is_err());
    }

    #[test]
    fn int_octal_is_a_leading_zero_then_octal_digits() {
        resolves(tag::INT, &["010", "-017", "0_7", "00", "+0_"]);
        resolves(tag::STR, &["0o4", "08", "09", "0o10"]);
        assert_eq!(value("010").unwrap(), json!(8));
        assert_eq!(value("-017").unwrap(), json!(-15));
        assert_eq!(value("0_7").unwrap(), json!(7));
        assert_eq!(value("+0_").unwrap(), json!(0));
    }

    #[test]
    fn int_decimal_is_zero_or_a_nonzero_digit_then_digits_and_underscores() {
        resolves(tag::INT, &["0", "-0", "+12", "1_000", "1__0", "1_"]);
        resolves(tag::STR, &["+", "_1", "1a", "1 000"]);
        assert_eq!(value("1__0").unwrap(), json!(10));
        assert_eq!(value("-0").unwrap(), json!(0));
        assert_eq!(shown("18446744073709551615"), u64::MAX.to_string());
        assert_eq!(
            value("-9223372036854775808").unwrap(),
            json!(i64::MIN),
            "i64::MIN is representable"
        );
        // Python's ints have no limit: every digit is kept.
        assert_eq!(shown("18446744073709551616"), "18446744073709551616");
        assert_eq!(shown(&"9".repeat(60)), "9".repeat(60));
        assert_eq!(
            shown("-1_000_000_000_000_000_000_000"),
            "-1000000000000000000000"
        );
        assert_eq!(shown("0x1_0000_0000_0000_0000"), "18446744073709551616");
        assert_eq!(shown("1:0:0:0:0:0:0:0:0:0:0:0"), "36279705600000000000");
        // …but `int()` reads at most 4300 decimal digits (bases 2, 8 and 16 have no limit).
        let e = value(&"9".repeat(4301)).unwrap_err();
        assert!(
            e.message.contains("Exceeds the limit (4300 digits)"),
            "{e:?}"
        );
        match value(&format!("0x{}", "f".repeat(4000))).unwrap() {
            // Python reads it, and refuses to print it (`str()` has the same limit).
            Object::Int(i) => assert!(!i.printable() && i.decimal_digits() == 4817),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn int_hexadecimal_is_0x_then_hex_digits_and_underscores() {
        resolves(tag::INT, &["0x_4", "0xFF", "-0x1f", "0xdead_beef"]);
        resolves(tag::STR, &["0xg", "0X1f", "0x"]);
        assert_eq!(value("0x_4").unwrap(), json!(4));
        assert_eq!(value("0xdead_beef").unwrap(), json!(3_735_928_559_i64));
        assert_eq!(value("-0x1f").unwrap(), json!(-31));
    }

    #[test]
    fn int_sexagesimal_is_base_sixty_groups_after_a_nonzero_digit() {
        resolves(
            tag::INT,
            &["1:04", "-1:30", "190:20:30", "1_0:30", "1:5", "1_:0"],
        );
        // A group is `[0-5]?[0-9]`: 60 is no group; a leading 0 is no sexagesimal int.
        resolves(tag::STR, &["1:60", "0:30", "1::2", "1:456"]);
        assert_eq!(value("1:04").unwrap(), json!(64));
        assert_eq!(value("-1:30").unwrap(), json!(-90));
        assert_eq!(value("190:20:30").unwrap(), json!(685_230));
        assert_eq!(value("1_0:30").unwrap(), json!(630));
    }

    #[test]
    fn float_with_digits_needs_a_dot_and_its_exponent_a_sign() {
        resolves(
            tag::FLOAT,
            &[
                "1.0", "1.", "-1.5", "1_0.5_", "0.4e-1", "4.0e+0", "1.e+5", "1.0E-10",
            ],
        );
        resolves(
            tag::STR,
            &[
                "1e1", "4e0", "4.0e0", "0.4e1", "1.0e5", "1.0e+", "1e+1", "+.5x",
            ],
        );
        assert_eq!(value("4.0e+0").unwrap(), json!(4.0));
        assert_eq!(value("1_0.5_").unwrap(), json!(10.5));
        assert_eq!(value("4e0").unwrap(), json!("4e0"));
        assert_eq!(shown("1.0e+400"), "inf");
    }

    #[test]
    fn float_with_a_leading_dot_takes_no_sign() {
        resolves(tag::FLOAT, &[".5", ".5e+1", ".0"]);
        resolves(tag::STR, &["-.5", "+.5", "._5", "."]);
        assert_eq!(value(".5e+1").unwrap(), json!(5.0));
    }

    #[test]
    fn float_sexagesimal_has_groups_then_a_dot() {
        resolves(tag::FLOAT, &["190:20:30.15", "1:30.", "-1:30.5", "0:30.5"]);
        resolves(tag::STR, &["1:30.5e+1", "1:60.5"]);
        assert_eq!(value("190:20:30.15").unwrap(), json!(685_230.15));
        assert_eq!(value("-1:30.5").unwrap(), json!(-90.5));
        assert_eq!(value("0:30.5").unwrap(), json!(30.5));
    }

    #[test]
    fn float_infinity_and_nan_are_dotted_words_in_three_cases() {
        resolves(
            tag::FLOAT,
            &[".inf", "-.inf", "+.Inf", ".INF", ".nan", ".NaN", ".NAN"],
        );
        resolves(
            tag::STR,
            &[".inf1", "-.nan", ".iNf", ".Nan", "inf", "nan", "-inf"],
        );
        // Floats, which JSON cannot hold but the rules read.
        for (s, want) in [
            (".inf", "inf"),
            ("-.inf", "-inf"),
            (".nan", "nan"),
            ("+.Inf", "inf"),
        ] {
            assert_eq!(shown(s), want, "{s}");
        }
    }

    #[test]
    fn merge_value_and_yaml_patterns_have_no_constructor_outside_a_key() {
        resolves(tag::MERGE, &["<<"]);
        resolves(tag::VALUE, &["="]);
        resolves(tag::STR, &["<<<", "==", "<"]);
        assert!(
            value("<<")
                .unwrap_err()
                .message
                .contains("tag:yaml.org,2002:merge")
        );
        assert!(
            value("=")
                .unwrap_err()
                .message
                .contains("tag:yaml.org,2002:value")
        );
        // Only a scalar tagged `!` can be a lone `!`, `&` or `*`.
        assert!(
            value("! '*'")
                .unwrap_err()
                .message
                .contains("tag:yaml.org,2002:yaml")
        );
    }

    #[test]
    fn timestamp_is_a_date_or_a_date_and_time_and_stays_its_text() {
        resolves(
            tag::TIMESTAMP,
            &[
                "2001-12-14",
                "2001-12-14t21:59:43.10-05:00",
                "2001-12-14 21:59:43.10 -5",
                "2001-12-15T02:59:43.1Z",
                "2001-12-14 21:59:43.10",
                "2002-12-14 1:59:43",
                "2001-1-1T1:00:00",
            ],
        );
        resolves(
            tag::STR,
            &[
                "2001-1-1",
                "2001-12-14T",
                "2001-12-14 21:59",
                "01-12-14",
                "2001-12-14Z",
            ],
        );
        assert_eq!(value("2001-12-14").unwrap(), json!("2001-12-14"));
        // datetime raises on an impossible date, and so does the load.
        for bad in [
            "2001-02-29",
            "2001-13-01",
            "0000-01-01",
            "2001-01-01 24:00:00",
        ] {
            assert!(value(bad).is_err(), "{bad}");
        }
        assert_eq!(value("2000-02-29").unwrap(), json!("2000-02-29"));
        assert!(value("2001-01-01 1:00:00 +24").is_err(), "offset of a day");
        assert!(value("2001-01-01 1:00:00 +23:59").is_ok());
    }

    #[test]
    fn python_dollar_lets_one_final_line_break_through() {
        // Only a scalar tagged `!` both ends in a line break and is resolved.
        assert_eq!(value("! \"5\\n\"").unwrap(), json!(5));
        assert_eq!(value("! \"1.5\\n\"").unwrap(), json!(1.5));
        // bool_values["yes\n"] raises KeyError.
        assert!(value("! \"yes\\n\"").is_err());
        assert_eq!(value("! \"\\n\"").unwrap(), json!("\n"));
        assert_eq!(value("! \"5\\n\\n\"").unwrap(), json!("5\n\n"));
    }

    // -- quoting and tags

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        for s in [
            "'yes'", "\"010\"", "'1:04'", "\"~\"", "''", "|\n  yes", ">\n  5",
        ] {
            assert!(matches!(value(s).unwrap(), Object::Str(_)), "{s}");
        }
    }

    #[test]
    fn core_tags_construct_as_safe_constructor_does() {
        assert_eq!(value("!!str 5").unwrap(), json!("5"));
        assert_eq!(value("!!str").unwrap(), json!(""));
        assert_eq!(value("!!bool \"yes\"").unwrap(), json!(true));
        assert_eq!(value("!!bool yEs").unwrap(), json!(true), "lower()ed first");
        assert_eq!(value("!!int \"0x10\"").unwrap(), json!(16));
        assert_eq!(value("!!int 0o17").unwrap(), json!(15), "int('0o17', 8)");
        assert_eq!(value("!!int '--5'").unwrap(), json!(5));
        assert_eq!(value("!!int 1:04").unwrap(), json!(64));
        assert_eq!(value("!!float 1").unwrap(), json!(1.0));
        assert_eq!(value("!!float 1e1").unwrap(), json!(10.0));
        assert_eq!(value("!!float '1_0'").unwrap(), json!(10.0));
        assert_eq!(shown("!!float 1e400"), "inf");
        assert_eq!(value("!!null x").unwrap(), Object::None);
        // int() maps a decimal digit of any script to its ASCII digit, in every base.
        assert_eq!(value("!!int '\u{664}\u{662}'").unwrap(), json!(42));
        assert_eq!(value("!!int '0x\u{661}\u{660}'").unwrap(), json!(16));
        assert_eq!(value("!!str {=: 5}").unwrap(), json!("5"));
        assert_eq!(value("!!seq [1]").unwrap(), json!([1]));
        assert_eq!(value("!!map {a: 1}").unwrap(), json!({"a": 1}));
        assert_eq!(value("!!set {x, y}").unwrap(), json!(["x", "y"]));
        assert_eq!(value("!!set {a: [1]}").unwrap(), json!(["a"]));
        assert_eq!(
            value("!!omap [{a: 1}, {b: 2}]").unwrap(),
            json!([["a", 1], ["b", 2]])
        );
        assert_eq!(
            value("!!pairs [{a: 1}, {a: 2}]").unwrap(),
            json!([["a", 1], ["a", 2]])
        );
        assert_eq!(value("!!binary aGVsbG8=").unwrap(), json!("aGVsbG8="));
        assert_eq!(value("!!timestamp 2001-1-1").unwrap(), json!("2001-1-1"));
        assert_eq!(value("!<tag:yaml.org,2002:int> '7'").unwrap(), json!(7));
    }

    #[test]
    fn the_non_specific_tag_resolves_even_a_quoted_scalar() {
        assert_eq!(value("! yes").unwrap(), json!(true));
        assert_eq!(value("! 5").unwrap(), json!(5));
        assert_eq!(value("! \"5\"").unwrap(), json!(5));
        assert_eq!(value("! [1]").unwrap(), json!([1]));
        assert_eq!(value("! {b: 1}").unwrap(), json!({"b": 1}));
    }

    #[test]
    fn where_python_raises_the_load_fails_with_the_nodes_position() {
        let cases = [
            (
                "k: !!int abc",
                "ValueError: invalid literal for int() with base 10: 'abc'",
            ),
            ("k: !!int", "IndexError: string index out of range"),
            ("k: !!int +", "IndexError: string index out of range"),
            (
                "k: !!float x",
                "ValueError: could not convert string to float: 'x'",
            ),
            ("k: !!bool 1", "KeyError: '1'"),
            ("k: !!bool", "KeyError: ''"),
            (
                "k: !foo x",
                "could not determine a constructor for the tag '!foo'",
            ),
            (
                "k: !!python/object x",
                "tag 'tag:yaml.org,2002:python/object'",
            ),
            (
                "k: !!set [1]",
                "expected a mapping node, but found sequence",
            ),
            (
                "k: !!map [1]",
                "expected a mapping node, but found sequence",
            ),
            (
                "k: !!seq {a: 1}",
                "expected a sequence node, but found mapping",
            ),
            ("k: !!str [1]", "expected a scalar node, but found sequence"),
            (
                "k: !!null {a: 1}",
                "expected a scalar node, but found mapping",
            ),
            ("k: !!omap {a: 1}", "expected a sequence, but found mapping"),
            ("k: !!binary aGVsbG8", "Incorrect padding"),
            ("k: !!binary aGVsb", "cannot be 1 more than a multiple of 4"),
            ("k: !!timestamp x", "AttributeError"),
        ];
        for (doc, message) in cases {
            let e = fails(doc);
            assert!(e.message.contains(message), "{doc}: {}", e.message);
            assert_eq!((e.line, e.column), (1, 4), "{doc}");
        }
        // An entry of an ordered map is at fault where it stands.
        let e = fails("k: !!omap [{a: 1, b: 2}]");
        assert!(
            e.message
                .contains("expected a single mapping item, but found 2")
        );
        assert_eq!((e.line, e.column), (1, 12));
        let e = fails("k: !!pairs [1]");
        assert!(
            e.message
                .contains("expected a mapping of length 1, but found scalar")
        );
        assert_eq!((e.line, e.column), (1, 13));
    }

    // -- composition

    #[test]
    fn anchors_and_aliases_compose_as_pyyaml_does() {
        assert_eq!(
            load_json("a: &x {b: 1}\nc: *x\n"),
            json!({"a": {"b": 1}, "c": {"b": 1}})
        );
        let e = fails("a: &x 1\nb: &x 2\n");
        assert!(e.message.starts_with("found duplicate anchor 'x'"), "{e:?}");
        assert_eq!((e.line, e.column), (2, 4));
        let e = fails("a: *y\n");
        assert_eq!(e.message, "found undefined alias 'y'");
        // A node that contains itself: Python builds a cycle, JSON cannot.
        assert!(fails("a: &x [*x]\n").message.contains("recursive"));
        assert!(fails("a: &x {b: *x}\n").message.contains("recursive"));
        // PyYAML's anchor names are letters, digits, `-` and `_` (libyaml's too).
        assert!(fails("a: &x.y 1\n").message.contains("anchor"));
    }

    #[test]
    fn one_document_only_and_none_for_an_empty_stream() {
        assert_eq!(load("", 1000).unwrap(), Object::None);
        assert_eq!(load("# only a comment\n", 1000).unwrap(), Object::None);
        assert_eq!(load("---\n", 1000).unwrap(), Object::None);
        assert_eq!(load_json("a: b\n...\n"), json!({"a": "b"}));
        let e = fails("--- a\n--- b\n");
        assert!(e.message.starts_with("expected a single document"), "{e:?}");
        assert_eq!((e.line, e.column), (2, 1));
    }

    #[test]
    fn a_later_duplicate_key_wins_in_the_first_ones_place() {
        assert_eq!(
            load_json("b: 1\nc: 3\nb: 2\n").to_string(),
            r#"{"b":2,"c":3}"#
        );
    }

    #[test]
    fn keys_that_are_not_strings_are_spelled_as_python_str_spells_them() {
        // `true` is the key `1` again (True == 1): one key, the first spelling, the last value.
        assert_eq!(
            load_json("1: a\ntrue: b\n~: c\n1.5: d\n010: e\n2001-01-01: f\n"),
            json!({"1": "b", "None": "c", "1.5": "d", "8": "e", "2001-01-01": "f"})
        );
        let e = fails("[a]: x\n");
        assert_eq!(
            e.message,
            "while constructing a mapping, found unhashable key"
        );
        assert!(fails("? {a: 1}\n: x\n").message.contains("unhashable"));
        assert!(fails("? !!set {a}\n: x\n").message.contains("unhashable"));
        // An `=` key is the string "=" in a mapping.
        assert_eq!(load_json("{=: 5}"), json!({"=": 5}));
    }

    #[test]
    fn merge_keys_lose_to_the_mappings_own_keys_and_earlier_merges_win() {
        let doc = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\n\
                   one: {<<: *a, x: 0}\n\
                   list: {<<: [*a, *b], x: 0}\n\
                   own_first: {x: 0, <<: *a}\n\
                   twice: {<<: *a, <<: *b}\n\
                   nested: {<<: {<<: *b, w: 5}}\n";
        let v = load_json(doc);
        assert_eq!(v["one"].to_string(), r#"{"x":0,"y":2}"#);
        assert_eq!(v["list"].to_string(), r#"{"y":2,"z":4,"x":0}"#);
        // Merged keys come first in the dict, whatever the order in the text.
        assert_eq!(v["own_first"].to_string(), r#"{"x":0,"y":2}"#);
        // Two merge keys: the second's pairs come later, so they win.
        assert_eq!(v["twice"].to_string(), r#"{"x":1,"y":3,"z":4}"#);
        assert_eq!(v["nested"].to_string(), r#"{"y":3,"z":4,"w":5}"#);
        let e = fails("a: {<<: 1}\n");
        assert!(
            e.message
                .contains("expected a mapping or list of mappings for merging")
        );
        let e = fails("a: {<<: [1]}\n");
        assert!(
            e.message
                .contains("expected a mapping for merging, but found scalar")
        );
        // A quoted `<<` is an ordinary key.
        assert_eq!(load_json("'<<': 1"), json!({"<<": 1}));
    }

    // -- guards

    #[test]
    fn nesting_through_aliases_is_limited_too() {
        let mut doc = String::from("a0: &a0 [1]\n");
        for i in 1..=40 {
            doc.push_str(&format!("a{i}: &a{i} [[[[[[[[[[*a{}]]]]]]]]]]\n", i - 1));
        }
        let e = load(&doc, 100).unwrap_err();
        assert!(e.message.contains("nested more than 100 levels"), "{e:?}");
    }

    #[test]
    fn an_alias_expansion_far_beyond_the_file_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..=9 {
            let p = format!("*a{}", i - 1);
            doc.push_str(&format!("a{i}: &a{i} [{}]\n", vec![p; 10].join(", ")));
        }
        let e = load(&doc, 1000).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{e:?}");
        // A few repeats are fine.
        assert!(load("a: &a [1, 2]\nb: [*a, *a, *a]\n", 1000).is_ok());
    }

    #[test]
    fn syntax_errors_are_libyamls_and_control_characters_are_refused_where_they_are() {
        let e = fails("kanban:\n  failure_limit: 4\n  diagnostics: [unclosed\n");
        assert_eq!((e.line, e.column), (4, 1));
        let e = fails("a: 1\nb: \"x\u{1}\"\n");
        assert!(
            e.message.contains("control characters are not allowed"),
            "{e:?}"
        );
        assert_eq!((e.line, e.column), (2, 6));
    }

    /// `fixtures/golden/yaml_scalars.json`: generated plain scalars and PyYAML's reading of
    /// each (`make.py --yaml-differential`). Every one must read the same here: the same
    /// type and the same `repr()`, but a timestamp, which is read as its text.
    #[test]
    fn yaml_scalars_read_as_pyyaml_reads_them() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/golden/yaml_scalars.json")).unwrap();
        let cases = file["cases"].as_array().unwrap();
        assert!(cases.len() >= 300, "{} cases", cases.len());
        let mut wrong = Vec::new();
        for case in cases {
            let scalar = case["scalar"].as_str().unwrap();
            let py = &case["pyyaml"];
            let want = py["value"].clone();
            let got = value(scalar).ok();
            let same = match (py["type"].as_str().unwrap(), &got) {
                ("error", None) => true,
                ("null", Some(Object::None)) => true,
                ("bool" | "str", Some(g)) => *g == want,
                ("int", Some(Object::Int(i))) => Some(i.to_string().as_str()) == want.as_str(),
                ("float", Some(Object::Float(f))) => {
                    Some(crate::py::float_repr(*f).as_str()) == want.as_str()
                }
                ("timestamp", Some(Object::Str(t))) => t == scalar.trim(),
                ("error" | "null" | "bool" | "str" | "int" | "float" | "timestamp", _) => false,
                (other, _) => panic!("{scalar:?}: unexpected reading {other}"),
            };
            if !same {
                wrong.push(format!("{scalar:?}: PyYAML {py}, here {got:?}"));
            }
        }
        println!(
            "{} scalars compared with PyYAML {}",
            cases.len(),
            file["pyyaml"]
        );
        assert!(
            wrong.is_empty(),
            "{} differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn position_of_offset_counts_yaml_line_breaks() {
        assert_eq!(position_of_offset("ab\r\ncd", 5), (2, 2));
        assert_eq!(position_of_offset("a\u{2028}b", 4), (2, 1));
        assert_eq!(position_of_offset("abc", 99), (1, 4));
    }
}
