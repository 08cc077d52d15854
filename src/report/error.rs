//! The tool's own failures as a user reads them, and as a program reads them.
//!
//! Human, on stderr, in the layout cargo and ruff use: the code and the message on the
//! first line, then what caused it (when the message does not already say it) and the
//! help line:
//!
//! ```text
//! error[kanban_doctor::board::not_found]: no board at kanban.db
//!   help: pass --db PATH, or set HERMES_KANBAN_DB / HERMES_HOME; kanban-doctor never creates a board
//! ```
//!
//! Lines are not wrapped: a terminal wraps, and a log keeps each line whole. Machine: one
//! JSON object, `{"error": {"code", "message", "help", "causes"}}`, for `--json` users.
//! Messages are the same text as the human one, so paths in them are escaped.

use std::io::{self, Write};

use miette::Diagnostic;
use serde::Serialize;

use super::style::Style;
use crate::escape;

/// What an error says, once: code, message, the causes the message does not repeat, help.
struct Parts {
    code: Option<String>,
    message: String,
    causes: Vec<String>,
    help: Option<String>,
}

impl Parts {
    fn of(err: &dyn Diagnostic) -> Parts {
        let message = err.to_string();
        let mut causes: Vec<String> = Vec::new();
        let mut source = err.source();
        while let Some(s) = source {
            let text = escape::line(&s.to_string()).into_owned();
            if !message.contains(&text) && !causes.contains(&text) {
                causes.push(text);
            }
            source = s.source();
        }
        Parts {
            code: err.code().map(|c| c.to_string()),
            message,
            causes,
            help: err.help().map(|h| h.to_string()),
        }
    }
}

/// Write `err` for a person.
pub fn human(out: &mut impl Write, style: &Style, err: &dyn Diagnostic) -> io::Result<()> {
    let p = Parts::of(err);
    let head = match &p.code {
        Some(c) => format!("error[{c}]"),
        None => "error".to_string(),
    };
    writeln!(
        out,
        "{}: {}",
        style.paint("1;31", &head),
        style.bold(&p.message)
    )?;
    for c in &p.causes {
        writeln!(out, "  {}: {c}", style.bold("caused by"))?;
    }
    if let Some(h) = &p.help {
        writeln!(out, "  {}: {h}", style.paint("1;36", "help"))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: Option<&'a str>,
    message: &'a str,
    help: Option<&'a str>,
    causes: &'a [String],
}

/// `err` as one line of JSON: `{"error": {"code": …, "message": …, "help": …, "causes": […]}}`.
pub fn json(err: &dyn Diagnostic) -> String {
    let p = Parts::of(err);
    json_parts(p.code.as_deref(), &p.message, p.help.as_deref(), &p.causes)
}

/// An error object from its parts, for errors that are not a [`Diagnostic`] (clap's).
pub fn json_parts(
    code: Option<&str>,
    message: &str,
    help: Option<&str>,
    causes: &[String],
) -> String {
    let env = Envelope {
        error: Body {
            code,
            message,
            help,
            causes,
        },
    };
    serde_json::to_string(&env).expect("strings always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn a_cause_the_message_already_quotes_is_not_repeated() {
        let err = Error::Output(io::Error::other("disk full"));
        let mut out = Vec::new();
        human(&mut out, &Style::default(), &err).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error[kanban_doctor::output]: cannot write output: disk full\n"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&err)).unwrap();
        assert_eq!(v["error"]["code"], "kanban_doctor::output");
        assert_eq!(v["error"]["message"], "cannot write output: disk full");
        assert!(v["error"]["help"].is_null());
        assert_eq!(v["error"]["causes"], serde_json::json!([]));
    }

    #[test]
    fn color_marks_the_head_and_the_help_only_when_asked() {
        let err = Error::NotFound {
            path: "kanban.db".into(),
        };
        let mut out = Vec::new();
        human(
            &mut out,
            &Style {
                color: true,
                width: None,
            },
            &err,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\x1b[1;31merror[kanban_doctor::board::not_found]\x1b[0m: "));
        assert!(text.contains("\x1b[1;36mhelp\x1b[0m: pass --db PATH"));
    }
}
