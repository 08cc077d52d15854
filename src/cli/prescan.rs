//! What must be known before clap parses: whether its own errors (an unknown flag, a
//! missing value) may be colored, and whether the user asked for JSON, so that even a
//! usage error reaches a `--json` reader as an error object.
//!
//! Only the words before `--` count, and only in the forms clap accepts: `--color WHEN`,
//! `--color=WHEN`, `--json`, `--format json`, `--format=json`. A wrong guess here costs only the look of a usage error.

use std::ffi::OsString;

use crate::report::style::ColorChoice;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prescan {
    pub color: ColorChoice,
    pub json: bool,
}

impl Prescan {
    pub fn of(args: &[OsString]) -> Prescan {
        let mut p = Prescan::default();
        let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(w) = words.next() {
            let value = match w.as_ref() {
                "--" => break,
                "--json" => {
                    p.json = true;
                    continue;
                }
                "--format" => {
                    p.json |= words.next().is_some_and(|v| v == "json");
                    continue;
                }
                "--format=json" => {
                    p.json = true;
                    continue;
                }
                "--color" => words.next().map(|v| v.into_owned()),
                other => other.strip_prefix("--color=").map(str::to_string),
            };
            p.color = match value.as_deref() {
                Some("always") => ColorChoice::Always,
                Some("never") => ColorChoice::Never,
                Some("auto") => ColorChoice::Auto,
                _ => p.color,
            };
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(words: &[&str]) -> Prescan {
        let args: Vec<OsString> = std::iter::once("kanban-doctor")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect();
        Prescan::of(&args)
    }

    #[test]
    fn color_and_json_are_read_in_both_spellings_before_the_separator() {
        assert_eq!(scan(&[]), Prescan::default());
        assert_eq!(scan(&["--color", "never"]).color, ColorChoice::Never);
        assert_eq!(
            scan(&["diagnose", "--color=always"]).color,
            ColorChoice::Always
        );
        assert!(scan(&["migrate", "--json"]).json);
        assert!(scan(&["diagnose", "--format", "json"]).json);
        assert!(scan(&["audit", "--format=json"]).json);
        assert!(!scan(&["audit", "--format", "sarif"]).json);
        assert_eq!(
            scan(&["explain", "--", "--json", "--color=never"]),
            Prescan::default()
        );
        // A value clap will refuse leaves the choice as it was.
        assert_eq!(scan(&["--color", "sometimes"]).color, ColorChoice::Auto);
    }
}
