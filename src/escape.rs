//! Untrusted text made safe for a terminal.
//!
//! Task titles and worker error logs come from LLM agents and subprocesses. Printed raw, an
//! ESC or OSC sequence could rewrite the screen (fake "OK" lines, spoofed OSC 8 links, OSC 52
//! clipboard writes) and bidi overrides could reorder what the operator reads. Human output
//! therefore escapes, visibly rather than silently: C0 controls but tab, DEL, C1 controls,
//! bidi and zero-width format characters, and CR/LF (every place we print is one line).
//! JSON output is not escaped here: it stays faithful to the data.

use std::borrow::Cow;

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Escape `s` for one line of human output.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escape a path for one line of human output (lossy where it is not UTF-8).
pub fn path(p: &std::path::Path) -> String {
    line(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_bidi_are_shown_not_obeyed() {
        assert_eq!(line("\x1b]52;c;aGk=\x07ok"), "\\x1b]52;c;aGk=\\x07ok");
        assert_eq!(line("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(line("a\r\nb\u{85}"), "a\\r\\nb\\u{0085}");
        assert_eq!(line("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(line("tab\tand é 🙂"), "tab\tand é 🙂");
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
    }
}
