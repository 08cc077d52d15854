//! Arbitrary text through `escape::line`, the guard between untrusted text and a terminal.
//!
//! The output must hold no character that can move the cursor, start an escape sequence,
//! break the line or reorder what is shown; text that needs no escaping comes back
//! borrowed and unchanged; and, when the input has no backslash of its own, undoing the
//! escapes gives the input back (nothing dropped or altered).

#![no_main]

use std::borrow::Cow;

use kanban_doctor::fuzzing::escape;
use libfuzzer_sys::fuzz_target;

/// Characters that must never reach the terminal raw.
fn forbidden(c: char) -> bool {
    matches!(c,
        // C0 controls but tab, DEL, C1 controls.
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // Line and paragraph separators.
        | '\u{2028}' | '\u{2029}'
        // Bidi controls: embeddings and overrides, isolates, marks, the Arabic letter mark.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'
        | '\u{61c}'
        // The zero-width format characters the module promises to show too.
        | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// Undo `line`'s escapes, assuming every backslash in `s` starts one.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next().expect("a backslash ends the output") {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'x' => {
                let hex: String = it.by_ref().take(2).collect();
                let b = u32::from_str_radix(&hex, 16).expect("\\x takes two hex digits");
                assert!(b < 0x80, "\\x{hex} is not ASCII");
                out.push(char::from_u32(b).unwrap());
            }
            'u' => {
                assert_eq!(it.next(), Some('{'));
                let hex: String = it.by_ref().take_while(|&c| c != '}').collect();
                let v = u32::from_str_radix(&hex, 16).expect("\\u{..} holds hex");
                out.push(char::from_u32(v).expect("a scalar value"));
            }
            other => panic!("unknown escape \\{other} in {s:?}"),
        }
    }
    out
}

fuzz_target!(|s: &str| {
    let out = escape::line(s);
    if let Some(c) = out.chars().find(|&c| forbidden(c)) {
        panic!("U+{:04X} left raw in {out:?} (from {s:?})", c as u32);
    }
    // The longest escape, `\x1b` for one byte or `\u{0085}` for two, is four times its
    // input: the output is linear in the input.
    assert!(out.len() <= s.len() * 4, "{s:?} grew to {out:?}");
    // The module also escapes the invisible operators U+2061..U+2064 (and U+2065); any
    // other text is printable as it is and comes back borrowed, unchanged.
    let escaped = |c: char| forbidden(c) || ('\u{2061}'..='\u{2065}').contains(&c);
    if !s.chars().any(escaped) {
        assert!(matches!(out, Cow::Borrowed(_)), "{s:?} escaped to {out:?}");
    }
    if matches!(out, Cow::Borrowed(_)) {
        assert_eq!(&*out, s);
    }
    if !s.contains('\\') {
        assert_eq!(unescape(&out), s, "escaping lost information");
    }
});
