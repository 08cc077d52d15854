//! `json.dumps` as Python prints it, for every JSON the tool writes.
//!
//! Two layouts: `indent=2` (what `hermes kanban diagnostics --json` and every `--json` of
//! this tool print) and the default separators `", "` and `": "` on one line (what the
//! kernel stores as an event payload). serde_json already matches Python's string
//! escaping with `ensure_ascii=False`; floats differ (`1e16` against Python's `1e+16`, and
//! Python always writes a `.0`), so they go through [`super::float_repr`].

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

/// `indent=2`: serde_json's pretty layout with Python's float rendering.
pub struct PyFormatter(PrettyFormatter<'static>);

impl Default for PyFormatter {
    fn default() -> Self {
        PyFormatter(PrettyFormatter::with_indent(b"  "))
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl Formatter for PyFormatter {
    delegate!(
        begin_array(),
        end_array(),
        begin_array_value(first: bool),
        end_array_value(),
        begin_object(),
        end_object(),
        begin_object_key(first: bool),
        begin_object_value(),
        end_object_value(),
    );

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(super::float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }
}

/// Serialize `value` as `json.dumps(value, indent=2, ensure_ascii=False)`.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, PyFormatter::default());
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// `json.dumps(value, ensure_ascii=False)`: one line, `", "` and `": "` separators.
pub fn to_string_compact<T: Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, CompactPy);
    value
        .serialize(&mut ser)
        .expect("serializing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// Python's default separators, and its float rendering.
struct CompactPy;

impl Formatter for CompactPy {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(super::float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_dumps_use_pythons_separators_and_floats() {
        assert_eq!(
            to_string_compact(&json!({"a": 1, "b": [1, "é"], "c": null, "d": 1e16, "e": 2.0})),
            "{\"a\": 1, \"b\": [1, \"é\"], \"c\": null, \"d\": 1e+16, \"e\": 2.0}"
        );
        assert_eq!(to_string_compact(&json!([])), "[]");
        assert_eq!(to_string_compact(&json!({})), "{}");
    }
}
