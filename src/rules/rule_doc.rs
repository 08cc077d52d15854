//! Each rule's documentation, as data: what `--explain` and a rule list can print, what
//! rustdoc renders on the rule's type, and what the meta-test checks.
//!
//! One text serves all three, as in clippy's `declare_clippy_lint!`: `declare_rule!`
//! takes the doc comment written on the rule's type, emits it there for rustdoc, and keeps
//! it as the [`RuleDoc::body`] of the rule's [`Rule::DOC`](super::Rule::DOC).

use serde::Serialize;

use super::Severity;

/// What a user can read about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleDoc {
    /// The canonical kind, as diagnostics carry it (and the rule's file name).
    pub kind: &'static str,
    /// One line: what the rule detects.
    pub summary: &'static str,
    /// Every severity the rule reports, least urgent first: the first at its threshold, the
    /// others as the finding escalates.
    pub severities: &'static [Severity],
    /// The configuration keys that tune it, as paths in Hermes' `config.yaml`.
    pub config_keys: &'static [&'static str],
    /// The documentation in markdown: the [`RuleDoc::SECTIONS`], each under a `## ` heading.
    pub body: &'static str,
}

impl RuleDoc {
    /// The headings every rule's body has, in this order.
    pub const SECTIONS: [&'static str; 4] = [
        "What it does",
        "Why is this bad?",
        "Severity and thresholds",
        "Suggested actions",
    ];

    /// The severity a finding has when the rule first fires.
    pub fn default_severity(&self) -> Severity {
        self.severities[0]
    }

    /// The body's sections as (heading, text), in order; text before the first heading is
    /// not a section.
    pub fn sections(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let body: &'static str = self.body;
        body.split("\n## ")
            .enumerate()
            .filter_map(|(i, chunk)| {
                if i == 0 {
                    chunk.strip_prefix("## ")
                } else {
                    Some(chunk)
                }
            })
            .map(|chunk| {
                let (heading, text) = chunk.split_once('\n').unwrap_or((chunk, ""));
                (heading, text.trim())
            })
    }

    /// The text of one section, if the body has it.
    pub fn section(&self, heading: &str) -> Option<&'static str> {
        self.sections()
            .find(|(h, _)| *h == heading)
            .map(|(_, text)| text)
    }
}

/// Declare a rule's type with its documentation, and the documentation as data:
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// …the four sections of `RuleDoc::SECTIONS`…
///     pub struct RepeatedFailures;
///     kind: "repeated_failures",
///     summary: "The unified failure counter is climbing",
///     severities: [Error, Critical],
///     config_keys: ["kanban.diagnostics.failure_threshold", …],
/// }
/// ```
///
/// This emits the unit struct, documented for rustdoc, and a module-level `const DOC:
/// RuleDoc` for the rule's `impl Rule` to use as its [`Rule::DOC`](super::Rule::DOC).
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $rule:ident;
        kind: $kind:literal,
        summary: $summary:literal,
        severities: [$($severity:ident),+ $(,)?],
        config_keys: [$($key:literal),* $(,)?] $(,)?
    ) => {
        #[doc = concat!("`", $kind, "`: ", $summary, ".")]
        #[doc = ""]
        $(#[doc = $doc])*
        pub struct $rule;

        #[doc = concat!("The documentation of [`", stringify!($rule), "`], as data.")]
        const DOC: $crate::rules::RuleDoc = $crate::rules::RuleDoc {
            kind: $kind,
            summary: $summary,
            severities: &[$($crate::rules::Severity::$severity),+],
            config_keys: &[$($key),*],
            body: {
                // The doc comment as rustdoc joins its lines, minus the space after `///`.
                const RAW: &str = concat!($($doc, "\n"),*);
                const BYTES: [u8; $crate::rules::rule_doc::unindented_len(RAW)] =
                    $crate::rules::rule_doc::unindent(RAW);
                $crate::rules::rule_doc::utf8(&BYTES)
            },
        };
    };
}
pub(crate) use declare_rule;

/// The length of `raw` once [`unindent`] has removed a space from the start of each line.
pub const fn unindented_len(raw: &str) -> usize {
    let raw = raw.as_bytes();
    let (mut i, mut len, mut line_start) = (0, 0, true);
    while i < raw.len() {
        if !(line_start && raw[i] == b' ') {
            len += 1;
        }
        line_start = raw[i] == b'\n';
        i += 1;
    }
    len
}

/// `raw` without the one space that starts each of its lines (where one does), in an array
/// of [`unindented_len`] bytes: the text of a doc comment written with `/// `.
pub const fn unindent<const N: usize>(raw: &str) -> [u8; N] {
    let raw = raw.as_bytes();
    let mut out = [0; N];
    let (mut i, mut j, mut line_start) = (0, 0, true);
    while i < raw.len() {
        if !(line_start && raw[i] == b' ') {
            out[j] = raw[i];
            j += 1;
        }
        line_start = raw[i] == b'\n';
        i += 1;
    }
    out
}

/// The text of [`unindent`]'s bytes; removing ASCII spaces keeps UTF-8 valid.
pub const fn utf8(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("unindented doc text is not UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unindent_drops_one_leading_space_per_line() {
        const RAW: &str = " ## Heading\n\n Text with  spaces.\n     code\n";
        const BYTES: [u8; unindented_len(RAW)] = unindent(RAW);
        assert_eq!(utf8(&BYTES), "## Heading\n\nText with  spaces.\n    code\n");
    }

    #[test]
    fn sections_split_at_level_two_headings() {
        let doc = RuleDoc {
            kind: "k",
            summary: "s",
            severities: &[Severity::Warning],
            config_keys: &[],
            body: "## One\nFirst, `a`.\n### Not a section\n\n## Two\nSecond.\n",
        };
        let sections: Vec<_> = doc.sections().collect();
        assert_eq!(
            sections,
            [
                ("One", "First, `a`.\n### Not a section"),
                ("Two", "Second.")
            ]
        );
        assert_eq!(doc.section("Two"), Some("Second."));
        assert_eq!(doc.section("Three"), None);
    }
}
