//! libyaml's event parser behind a safe interface: the only `unsafe` code in the crate.
//!
//! PyYAML's pure-Python scanner and parser and libyaml are one design (libyaml is its C
//! twin), and Hermes itself reads `config.yaml` through libyaml when PyYAML has it
//! (`CSafeLoader`). So the events here are the events Hermes' loader composes, and the
//! syntax errors are libyaml's own messages. The crate is `unsafe-libyaml-norway`, the
//! transpiled libyaml that serde_norway wraps the same way.
//!
//! Each event is copied out into owned Rust values before libyaml frees it; the parser
//! lives in a box because libyaml keeps a pointer to itself once given its input.

use std::ffi::{CStr, c_char};
use std::mem::MaybeUninit;

use unsafe_libyaml_norway as unsafe_yaml;

/// A position in the text, 0-based as libyaml counts: `index` in characters (code points),
/// `line` and `column` in lines and characters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    pub index: usize,
    pub line: usize,
    pub column: usize,
}

impl Mark {
    fn from_sys(m: unsafe_yaml::yaml_mark_t) -> Self {
        Mark {
            index: m.index as usize,
            line: m.line as usize,
            column: m.column as usize,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A node's anchor and tag, as written (the tag with its handle already expanded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    pub anchor: Option<String>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(String),
    Scalar {
        props: Props,
        value: String,
        style: Style,
    },
    SequenceStart(Props),
    SequenceEnd,
    MappingStart(Props),
    MappingEnd,
}

/// libyaml's failure: its problem and context, each with the position it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub problem: String,
    pub problem_mark: Mark,
    /// Where a reader error (a byte libyaml refuses) sits, in bytes.
    pub problem_offset: usize,
    pub context: Option<(String, Mark)>,
}

impl std::fmt::Display for SyntaxError {
    /// libyaml's wording, positions 1-based: the message kanban-doctor has always shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |m: Mark| format!("line {} column {}", m.line + 1, m.column + 1);
        let p = self.problem_mark;
        write!(f, "{}", self.problem)?;
        if p.line != 0 || p.column != 0 {
            write!(f, " at {}", at(p))?;
        } else if self.problem_offset != 0 {
            write!(f, " at position {}", self.problem_offset)?;
        }
        if let Some((context, c)) = &self.context {
            write!(f, ", {context}")?;
            if (c.line != 0 || c.column != 0) && (c.line, c.column) != (p.line, p.column) {
                write!(f, " at {}", at(*c))?;
            }
        }
        Ok(())
    }
}

/// A pull parser over one text.
pub struct Parser<'a> {
    sys: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>>,
    /// libyaml reads from this buffer until the parser is dropped.
    _input: &'a [u8],
    failed: bool,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a str) -> Self {
        let mut sys = Box::new(MaybeUninit::<unsafe_yaml::yaml_parser_t>::uninit());
        let bytes = input.as_bytes();
        let ptr = sys.as_mut_ptr();
        // SAFETY: `ptr` points to boxed memory that never moves and outlives the parser
        // state (freed in Drop after `yaml_parser_delete`); libyaml initialises it in full.
        // The input slice is borrowed for `'a`, which bounds the parser's lifetime.
        unsafe {
            // Initialisation only allocates libyaml's buffers; its failure is an
            // allocation failure, which Rust's allocator would abort on anyway.
            let initialised = unsafe_yaml::yaml_parser_initialize(ptr);
            assert!(!initialised.fail, "libyaml could not allocate its buffers");
            unsafe_yaml::yaml_parser_set_encoding(ptr, unsafe_yaml::YAML_UTF8_ENCODING);
            unsafe_yaml::yaml_parser_set_input_string(ptr, bytes.as_ptr(), bytes.len() as _);
        }
        Parser {
            sys,
            _input: bytes,
            failed: false,
        }
    }

    /// The next event and where it starts, or libyaml's error (then again on every call).
    pub fn next_event(&mut self) -> Result<(Event, Mark), SyntaxError> {
        let parser = self.sys.as_mut_ptr();
        let mut event = MaybeUninit::<unsafe_yaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`. A successful `yaml_parser_parse`
        // fills `event`, which is read and then freed exactly once; on failure libyaml
        // leaves no event to free and sets the error fields read by `error`.
        unsafe {
            if self.failed {
                return Err(error(parser));
            }
            if unsafe_yaml::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                self.failed = true;
                return Err(error(parser));
            }
            let event = event.as_mut_ptr();
            let converted = convert(&*event);
            let mark = Mark::from_sys((*event).start_mark);
            unsafe_yaml::yaml_event_delete(event);
            Ok((converted, mark))
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new` and deleted once, here.
        unsafe { unsafe_yaml::yaml_parser_delete(self.sys.as_mut_ptr()) }
    }
}

/// A NUL-terminated string libyaml owns, copied; `None` for a null pointer.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives for the call.
unsafe fn c_text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: as the caller promises.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// # Safety
/// `parser` is an initialised parser whose `error` is set.
unsafe fn error(parser: *const unsafe_yaml::yaml_parser_t) -> SyntaxError {
    // SAFETY: libyaml's problem and context strings are static C strings or null.
    unsafe {
        let p = &*parser;
        SyntaxError {
            problem: c_text(p.problem)
                .unwrap_or_else(|| "libyaml failed without saying why".to_string()),
            problem_mark: Mark::from_sys(p.problem_mark),
            problem_offset: p.problem_offset as usize,
            context: c_text(p.context).map(|c| (c, Mark::from_sys(p.context_mark))),
        }
    }
}

/// # Safety
/// `e` is an event libyaml has just filled and not yet freed.
unsafe fn convert(e: &unsafe_yaml::yaml_event_t) -> Event {
    let text = |p: *mut u8| unsafe { c_text(p.cast_const().cast()) };
    // SAFETY: the union field read is the one `type_` names; its pointers are libyaml's
    // own NUL-terminated strings (or the scalar's buffer of `length` bytes).
    unsafe {
        match e.type_ {
            unsafe_yaml::YAML_STREAM_START_EVENT => Event::StreamStart,
            unsafe_yaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
            unsafe_yaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
            unsafe_yaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
            unsafe_yaml::YAML_ALIAS_EVENT => {
                Event::Alias(text(e.data.alias.anchor).unwrap_or_default())
            }
            unsafe_yaml::YAML_SCALAR_EVENT => {
                let s = e.data.scalar;
                let bytes = if s.value.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(s.value, s.length as usize)
                };
                Event::Scalar {
                    props: Props {
                        anchor: text(s.anchor),
                        tag: text(s.tag),
                    },
                    value: String::from_utf8_lossy(bytes).into_owned(),
                    style: match s.style {
                        unsafe_yaml::YAML_SINGLE_QUOTED_SCALAR_STYLE => Style::SingleQuoted,
                        unsafe_yaml::YAML_DOUBLE_QUOTED_SCALAR_STYLE => Style::DoubleQuoted,
                        unsafe_yaml::YAML_LITERAL_SCALAR_STYLE => Style::Literal,
                        unsafe_yaml::YAML_FOLDED_SCALAR_STYLE => Style::Folded,
                        _ => Style::Plain,
                    },
                }
            }
            unsafe_yaml::YAML_SEQUENCE_START_EVENT => Event::SequenceStart(Props {
                anchor: text(e.data.sequence_start.anchor),
                tag: text(e.data.sequence_start.tag),
            }),
            unsafe_yaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
            unsafe_yaml::YAML_MAPPING_START_EVENT => Event::MappingStart(Props {
                anchor: text(e.data.mapping_start.anchor),
                tag: text(e.data.mapping_start.tag),
            }),
            unsafe_yaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
            // libyaml never hands out YAML_NO_EVENT from a successful parse.
            _ => Event::StreamEnd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Result<Vec<Event>, SyntaxError> {
        let mut p = Parser::new(text);
        let mut out = Vec::new();
        loop {
            let (e, _) = p.next_event()?;
            let end = e == Event::StreamEnd;
            out.push(e);
            if end {
                return Ok(out);
            }
        }
    }

    #[test]
    fn events_carry_style_tag_and_anchor() {
        let ev = events("a: &x !!int '1'\nb: *x\n").unwrap();
        assert!(ev.contains(&Event::Scalar {
            props: Props {
                anchor: Some("x".into()),
                tag: Some("tag:yaml.org,2002:int".into()),
            },
            value: "1".into(),
            style: Style::SingleQuoted,
        }));
        assert!(ev.contains(&Event::Alias("x".into())));
    }

    #[test]
    fn a_syntax_error_is_libyamls_message_and_stays_an_error() {
        let mut p = Parser::new("a: [1\n");
        let err = loop {
            match p.next_event() {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(
            err.to_string(),
            "did not find expected ',' or ']' at line 2 column 1, while parsing a flow \
             sequence at line 1 column 4"
        );
        assert_eq!(p.next_event(), Err(err));
    }
}
