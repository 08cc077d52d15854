//! Property tests: the cell conversions and the rule registry never panic on any cell, and
//! what they produce is well formed and deterministic.
//!
//! Cells are drawn from strategies weighted towards the values a hand-edited or half-migrated
//! board can hold: extreme integers, non-finite and subnormal reals, text with control, bidi
//! and line-separator characters, numbers Python's `int()` and `float()` read differently
//! from Rust, blobs that are not UTF-8, and JSON payloads that are deep, huge, of the wrong
//! shape or use Python-only literals. Rows are shaped like a board's (known event kinds,
//! outcomes and statuses, timestamps near `now`) often enough that every rule fires.
//!
//! Case counts (256 per property, 32 for the end-to-end one) keep the module to a few
//! seconds in a debug build; set `PROPTEST_CASES` to run more (it replaces every count here).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use rusqlite::types::ValueRef;
use serde_json::{Map, Value as Json, json};

use super::support::{self, error_snippet, iter_ids, payload_object, title_line};
use super::{
    Diagnostic, EventRow, KINDS, Params, PayloadMode, RunRow, TaskRow, TaskState, Verdict,
};
use crate::config::{Defaults, DiagConfig};
use crate::py;
use crate::py::value::{Num, Value};

/// `cases` unless `PROPTEST_CASES` is set (proptest's default reads it). The cheap RNG
/// unless `PROPTEST_RNG_ALGORITHM` is set: in a debug build ChaCha dominates the run time.
fn cfg(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_ALGORITHM").is_none() {
        c.rng_algorithm = proptest::test_runner::RngAlgorithm::XorShift;
    }
    c
}

// ---------------------------------------------------------------------------------------
// Strategies for single cells.

fn extreme_i64() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => select(vec![
            i64::MIN,
            i64::MIN + 1,
            -(1 << 53),
            -3600,
            -1,
            0,
            1,
            2,
            3,
            4,
            6,
            (1 << 53) + 1,
            i64::MAX / 2,
            i64::MAX - 1,
            i64::MAX,
        ]),
        2 => 1_700_000_000i64..1_800_000_000,
        2 => any::<i64>(),
    ]
    .boxed()
}

fn extreme_f64() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => select(vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            0.5,
            1.5,
            2.5,
            3.0,
            24.25,
            1e16,
            1.5e-5,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            9.223_372_036_854_776e18,
            -9.223_372_036_854_776e18,
            9.223_372_036_854_775e18,
        ]),
        1 => 1.7e9f64..1.8e9,
        2 => any::<f64>(),
    ]
    .boxed()
}

/// Words a board really uses, so the rules see their own kinds, outcomes and statuses.
const EVENT_KINDS: &[&str] = &[
    "created",
    "promoted",
    "reclaimed",
    "unblocked",
    "blocked",
    "commented",
    "completed",
    "edited",
    "completion_blocked_hallucination",
    "suspected_hallucinated_references",
    "gave_up",
];
const OUTCOMES: &[&str] = &[
    "crashed",
    "completed",
    "reclaimed",
    "spawn_failed",
    "timed_out",
    "blocked",
    "gave_up",
];
const STATUSES: &[&str] = &[
    "ready", "blocked", "running", "done", "archived", "triage", "todo",
];

/// Text that looks like something else: numbers Python and Rust parse differently,
/// separators, bidi overrides, escapes.
const NASTY_TEXT: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "-1",
    "3",
    "+5",
    "-0",
    "1.5",
    "1_0",
    "_1",
    "1__0",
    " 12 ",
    "１２",
    "\u{1c}12",
    "12\u{1f}",
    "\u{b}12\u{c}",
    "\u{a0}12\u{2028}",
    "٣",
    "\u{1D7CE}",
    "1e5",
    "1E+05",
    "inf",
    "-inf",
    "+infinity",
    "nan",
    "NaN",
    "--inf",
    "in_f",
    "0x10",
    "1e400",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "\u{202e}evil\u{202c}",
    "\u{2066}iso\u{2069}",
    "a\u{2028}b",
    "a\u{2029}b",
    "a\u{85}b",
    "\u{0}",
    "\u{1b}[31mred\u{1b}[0m",
    "\r\n",
    "\r",
    "\u{feff}",
    "\u{fffd}",
    "\u{200b}",
    "t_1",
    "default",
    "o'neil",
    "\"",
    "'\"",
    "\\",
    "é",
    "🙂",
    "null",
    "{}",
    "[]",
];

/// C0 and C1 controls, line separators, bidi overrides and isolates, a BOM, quotes.
const CONTROL_AND_BIDI: &str = "[\\x00-\\x1f\\x7f-\\x9f\u{2028}\u{2029}\
                                 \u{202a}-\u{202e}\u{2066}-\u{2069}\u{feff} a-z0-9'\"\\\\]{0,24}";
/// Numbers with odd padding, doubled signs, stray underscores and exponents.
const NUMBER_LIKE: &str = "[ \\t\\x0b\\x0c\\x1c-\\x1f\u{a0}\u{3000}]{0,2}[+-]{0,2}[0-9_]{1,22}\
                           (\\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?[ \\x1f\u{2028}]{0,2}";

fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(NASTY_TEXT).prop_map(String::from),
        2 => select(EVENT_KINDS).prop_map(String::from),
        1 => select(OUTCOMES).prop_map(String::from),
        1 => select(STATUSES).prop_map(String::from),
        2 => CONTROL_AND_BIDI,
        2 => NUMBER_LIKE,
        2 => any::<String>(),
    ]
    .boxed()
}

fn long_text() -> BoxedStrategy<String> {
    (
        select(vec!["x", "é", "🙂", "\n", "\u{2028}", " ", "\u{1c}", "9"]),
        select(vec!["", "a", "\n"]),
        150usize..2_000,
    )
        .prop_map(|(unit, tail, n)| format!("{}{tail}", unit.repeat(n)))
        .boxed()
}

/// JSON values of every shape, with the payload keys the rules read.
fn json_value() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        extreme_i64().prop_map(Json::from),
        extreme_f64().prop_filter_map("JSON has no NaN/inf", |f| {
            serde_json::Number::from_f64(f).map(Json::Number)
        }),
        short_text().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        let key = prop_oneof![
            3 => select(vec!["phantom_cards", "phantom_refs", "reason", ""]).prop_map(String::from),
            1 => short_text(),
        ];
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Json::Array),
            vec((key, inner), 0..5).prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Payload texts: JSON of any shape, nesting up to 200 levels, Python-only literals,
/// numbers beyond f64, strings holding JSON, and text that is not JSON at all.
fn payload_text() -> BoxedStrategy<String> {
    let fixed = select(vec![
        "",
        " {} ",
        "{bad",
        "null",
        "0",
        "true",
        "[]",
        "{}",
        "\"\"",
        "\"[1]\"",
        "\"{\\\"phantom_cards\\\": [\\\"t_1\\\"]}\"",
        "\"\\\"\\\"\"",
        "\"\\ud800\"",
        "NaN",
        "[1e999]",
        "{\"phantom_cards\": [NaN, Infinity, -Infinity]}",
        "{\"phantom_refs\": [\"t_1\"], \"x\": NaN}",
        "{\"phantom_cards\": [123456789012345678901234567890, 123456789012345678901234567891]}",
        "{\"phantom_cards\": [1, 1.0, true, \"1\", null, [], {}]}",
        "{\"phantom_cards\": \"t_ab\"}",
        "{\"phantom_cards\": {\"t_a\": 1, \"t_b\": 2}}",
        "{\"phantom_cards\": 5}",
        "{\"phantom_refs\": 0}",
        "{\"phantom_refs\": false}",
        "{\"phantom_refs\": 1.5}",
        "{\"phantom_cards\": [\"\\ud800\"]}",
        "{\"phantom_cards\": [\"a\"], \"phantom_cards\": [\"b\"]}",
        "[{\"phantom_cards\": [\"t_1\"]}]",
    ])
    .prop_map(String::from);
    let deep = (
        1usize..=200,
        select(vec![
            ("[", "]", "1"),
            ("{\"phantom_cards\":", "}", "[\"t_1\"]"),
            ("{\"a\":[", "]}", "{}"),
            ("[", "]", ""),
        ]),
        any::<bool>(),
    )
        .prop_map(|(depth, (open, close, core), wrap)| {
            let nested = format!("{}{core}{}", open.repeat(depth), close.repeat(depth));
            if wrap {
                format!("{{\"phantom_refs\": [\"t_1\"], \"deep\": {nested}}}")
            } else {
                nested
            }
        });
    let keyed = (
        select(vec!["phantom_cards", "phantom_refs"]),
        json_value(),
        any::<bool>(),
    )
        .prop_map(|(k, v, as_string)| {
            let text = json!({ k: v }).to_string();
            if as_string {
                Json::String(text).to_string()
            } else {
                text
            }
        });
    prop_oneof![
        3 => keyed,
        2 => json_value().prop_map(|v| v.to_string()),
        2 => fixed,
        2 => deep,
        1 => "[0-9]{300,400}",
        1 => short_text(),
    ]
    .boxed()
}

fn blob() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..48),
        1 => select(vec![
            &b"\xff\xfe\x00"[..],
            b"\xc3\x28",
            b"\xed\xa0\x80",
            b"\xff\xfe1\x002\x00",
            b"\xfe\xff\x001\x002",
            b"\xef\xbb\xbf12",
            b"12",
            b" 12 ",
            b"\xc2\xa012",
            b"",
            b"\x00",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => short_text().prop_map(String::into_bytes),
        1 => payload_text().prop_map(String::into_bytes),
        1 => payload_text().prop_map(|t| {
            // UTF-16LE with a BOM, the way a Windows tool might have stored the text.
            let mut out = vec![0xff, 0xfe];
            out.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
            out
        }),
    ]
    .boxed()
}

fn value() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        2 => extreme_i64().prop_map(Value::Int),
        2 => extreme_f64().prop_map(Value::Real),
        3 => short_text().prop_map(Value::Text),
        1 => long_text().prop_map(Value::Text),
        1 => payload_text().prop_map(Value::Text),
        2 => blob().prop_map(Value::Blob),
    ]
    .boxed()
}

/// A word from `words` most of the time, any cell otherwise.
fn word_or_value(words: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        6 => select(words).prop_map(|w| Value::Text(w.into())),
        1 => value(),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------
// Strategies for rows.

/// A timestamp cell within a few days of `base`; when `messy`, sometimes text, real or any
/// cell. (One unreadable timestamp fails several rules for the task, so clean scenarios are
/// needed for those rules to get as far as firing.)
fn ts_cell(base: i64, messy: bool) -> BoxedStrategy<Value> {
    if !messy {
        return (-100_000i64..100_000)
            .prop_map(move |d| Value::Int(base.saturating_add(d)))
            .boxed();
    }
    prop_oneof![
        5 => (-100_000i64..100_000).prop_map(move |d| Value::Int(base.saturating_add(d))),
        1 => (-100_000i64..100_000)
            .prop_map(move |d| Value::Text(base.saturating_add(d).to_string())),
        1 => (-100_000i64..100_000)
            .prop_map(move |d| Value::Real(base.saturating_add(d) as f64 + 0.5)),
        2 => value(),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Event {
    kind: Value,
    created_at: Value,
    payload: Value,
}

#[derive(Debug, Clone)]
struct Run {
    outcome: Value,
    error: Value,
}

/// One task's rows plus the clock, with timestamps clustered so the rules can fire.
#[derive(Debug, Clone)]
struct Scenario {
    task: TaskRow,
    events: Vec<Event>,
    runs: Vec<Run>,
    now: i64,
}

fn event(base: i64, messy: bool) -> BoxedStrategy<Event> {
    let kind = prop_oneof![
        4 => word_or_value(EVENT_KINDS),
        // Enough of these for `block_unblock_cycling` to see cycles.
        2 => select(vec!["blocked", "unblocked"]).prop_map(|w| Value::Text(w.into())),
    ];
    (
        kind,
        ts_cell(base, messy),
        prop_oneof![
            3 => payload_text().prop_map(Value::Text),
            1 => value(),
        ],
    )
        .prop_map(|(kind, created_at, payload)| Event {
            kind,
            created_at,
            payload,
        })
        .boxed()
}

fn run() -> BoxedStrategy<Run> {
    let outcome = prop_oneof![
        3 => word_or_value(OUTCOMES),
        // Enough of these for `repeated_crashes` to see streaks.
        1 => Just(Value::Text("crashed".into())),
    ];
    (outcome, value())
        .prop_map(|(outcome, error)| Run { outcome, error })
        .boxed()
}

fn task_row(base: i64, messy: bool) -> BoxedStrategy<TaskRow> {
    let id = prop_oneof![
        4 => "t_[0-9a-f]{1,8}".prop_map(Value::Text),
        1 => value(),
    ];
    let assignee = prop_oneof![
        4 => select(vec!["default", "alice", "o'neil", " ", "", "\u{202e}x"])
            .prop_map(|s| Value::Text(s.into())),
        1 => value(),
    ];
    let claim_lock = prop_oneof![3 => Just(Value::Null), 1 => value()];
    let counter = prop_oneof![
        4 => (0i64..14).prop_map(Value::Int),
        1 => (0i64..14).prop_map(|n| Value::Real(n as f64)),
        1 => value(),
    ];
    (
        id,
        value(),
        word_or_value(STATUSES),
        assignee,
        claim_lock,
        ts_cell(base, messy),
        counter,
        value(),
    )
        .prop_map(
            |(
                id,
                title,
                status,
                assignee,
                claim_lock,
                created_at,
                consecutive_failures,
                last_failure_error,
            )| TaskRow {
                id,
                title,
                status,
                assignee,
                claim_lock,
                created_at,
                consecutive_failures,
                last_failure_error,
                // A board with no legacy pair, as `_task_field` reads it.
                failures_fallback: Value::Int(0),
                error_fallback: Value::Null,
            },
        )
        .boxed()
}

fn scenario() -> BoxedStrategy<Scenario> {
    (1_600_000_000i64..1_900_000_000, any::<bool>())
        .prop_flat_map(|(base, messy)| {
            let now = prop_oneof![
                3 => (0i64..30_000).prop_map(move |d| base + d),
                3 => (0i64..200_000).prop_map(move |d| base + d),
                1 => extreme_i64(),
            ];
            (
                task_row(base, messy),
                vec(event(base, messy), 0..24),
                vec(run(), 0..12),
                now,
            )
        })
        .prop_map(|(task, events, runs, now)| Scenario {
            task,
            events,
            runs,
            now,
        })
        .boxed()
}

/// Configurations with odd values under every key a rule reads.
fn config() -> BoxedStrategy<DiagConfig> {
    let odd = prop_oneof![
        3 => json_value(),
        2 => select(vec![
            json!(0), json!(-5), json!(1), json!(2), json!(1e300), json!(-1e300), json!(0.5),
            json!(i64::MAX), json!(i64::MIN), json!(u64::MAX), json!("1_0"), json!("inf"),
            json!("-inf"), json!("nan"), json!(" 12 "), json!("１２"), json!("1e5"),
            json!(true), json!(null), json!([]), json!({}),
        ]),
    ];
    let keys = select(vec![
        "failure_threshold",
        "spawn_failure_threshold",
        "crash_threshold",
        "blocked_stale_hours",
        "stranded_threshold_seconds",
        "failure_limit",
        "block_cycle_window_seconds",
        "block_cycle_threshold",
        "triage_aux_status",
    ]);
    (
        vec((keys, odd.clone()), 0..6),
        proptest::option::of(odd.clone()),
        proptest::option::of(odd.clone()),
        proptest::option::of(odd.clone()),
        proptest::option::of(odd),
        select(vec![Defaults::Unified, Defaults::Hermes019]),
    )
        .prop_map(|(diag, limit, auto, aux, model, defaults)| {
            let mut kanban = Map::new();
            kanban.insert(
                "diagnostics".into(),
                Json::Object(diag.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
            );
            if let Some(l) = limit {
                kanban.insert("failure_limit".into(), l);
            }
            if let Some(a) = auto {
                kanban.insert("auto_decompose".into(), a);
            }
            let mut raw = Map::new();
            raw.insert("kanban".into(), Json::Object(kanban));
            if let Some(a) = aux {
                raw.insert("auxiliary".into(), a);
            }
            if let Some(m) = model {
                raw.insert("model".into(), m);
            }
            let raw = crate::py::object::Object::from_json(&Json::Object(raw));
            DiagConfig::from_runtime(&raw, None, defaults).unwrap()
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// Driving the registry the way `crate::diagnose` does.

fn fold(s: &Scenario, params: &Params, mode: PayloadMode) -> TaskState {
    let mut st = TaskState::default();
    for e in &s.events {
        st.on_event(
            &EventRow {
                kind: &e.kind,
                created_at: &e.created_at,
                payload: &e.payload,
                mode,
            },
            params,
        );
    }
    for r in &s.runs {
        st.on_run(
            &RunRow {
                outcome: &r.outcome,
                error: &r.error,
            },
            params,
        );
    }
    st
}

/// A diagnostic and its JSON as the report prints it.
type Printed = (Diagnostic, String);

/// Fold and evaluate from scratch: the diagnostics, each as the report prints it, and the
/// failed kinds.
fn diagnose(
    s: &Scenario,
    cfg: &DiagConfig,
    mode: PayloadMode,
    only: Option<&[String]>,
) -> (Vec<Printed>, Vec<(&'static str, &'static str)>) {
    let params = Params::new(cfg, s.now);
    let st = fold(s, &params, mode);
    let (diags, failed) = st.evaluate(&s.task, &params, s.now, only);
    let printed = diags
        .into_iter()
        .map(|d| {
            let text = crate::py::json::to_string(&d);
            (d, text)
        })
        .collect();
    (printed, failed.into_iter().map(|(k, f)| (k, f.0)).collect())
}

fn structs(diags: &[Printed]) -> Vec<Diagnostic> {
    diags.iter().map(|(d, _)| d.clone()).collect()
}

fn printed(diags: &[Printed]) -> Vec<&String> {
    diags.iter().map(|(_, t)| t).collect()
}

/// Well-formedness of one evaluation: known kinds and severities, each kind at most once
/// (as a diagnostic or a failure, never both), sorted as the engine promises.
fn check_output(diags: &[Diagnostic], failed: &[(&'static str, &'static str)]) {
    let mut seen = Vec::new();
    for d in diags {
        let kind = d.kind;
        assert!(KINDS.contains(&kind), "unknown kind {kind}");
        for a in &d.actions {
            assert!(!a.kind.is_empty() && !a.label.is_empty());
        }
        seen.push(kind);
    }
    for (kind, why) in failed {
        assert!(KINDS.contains(kind), "unknown failed kind {kind}");
        assert!(!why.is_empty());
        seen.push(kind);
    }
    let n = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), n, "a kind reported twice: {diags:?} {failed:?}");
    let rank = |d: &Diagnostic| (d.severity, d.last_seen_at.clone());
    assert!(
        diags.windows(2).all(|w| rank(&w[0]) >= rank(&w[1])),
        "diagnostics out of order"
    );
}

// ---------------------------------------------------------------------------------------
// Properties.

/// Characters `repr()` must escape: a line break, a line separator, a bidi override.
const UNSAFE_IN_REPR: [char; 3] = ['\n', '\u{2028}', '\u{202e}'];
/// Characters that end a line for `str.splitlines()` (a sample).
const LINE_BREAKS: [char; 4] = ['\n', '\r', '\u{2028}', '\u{85}'];

proptest! {
    #![proptest_config(cfg(256))]

    /// (1) Decoding a cell and every conversion the rules apply to it never panics, and the
    /// conversions agree with each other.
    #[test]
    fn cell_conversions_never_panic(
        v in value(),
        raw_text in vec(any::<u8>(), 0..32),
        n in 0usize..600,
        other in extreme_i64(),
    ) {
        // The decoder, on every storage class, including TEXT that is not UTF-8.
        let decoded = [
            Value::from_ref(ValueRef::Null),
            Value::from_ref(ValueRef::Text(&raw_text)),
            Value::from_ref(ValueRef::Blob(&raw_text)),
            match &v {
                Value::Null => Value::from_ref(ValueRef::Null),
                Value::Int(i) => Value::from_ref(ValueRef::Integer(*i)),
                Value::Real(f) => Value::from_ref(ValueRef::Real(*f)),
                Value::Text(s) => Value::from_ref(ValueRef::Text(s.as_bytes())),
                Value::Blob(b) => Value::from_ref(ValueRef::Blob(b)),
            },
        ];
        prop_assert!(decoded[3] == v || matches!(v, Value::Real(f) if f.is_nan()));
        for v in decoded.iter().chain([&v]) {
            let truthy = v.truthy();
            let _ = v.is_null();
            match v.int_or_zero() {
                Ok(i) => {
                    if let Value::Int(j) = v { prop_assert_eq!(&i, j); }
                    if !truthy { prop_assert_eq!(i, 0); }
                }
                Err(_) => prop_assert!(truthy && !matches!(v, Value::Int(_))),
            }
            serde_json::to_string(&v.to_json()).expect("a cell serialises");
            let s = v.py_str();
            if let Value::Text(t) = v { prop_assert_eq!(&s, t); }
            if let Some(t) = v.as_text() {
                let _ = py::parse_int(t);
                let _ = py::parse_float(t);
                let stripped = py::strip(t);
                prop_assert!(
                    !stripped.starts_with(py::is_space) && !stripped.ends_with(py::is_space)
                );
                if let Some(line) = py::first_line(t) {
                    prop_assert!(py::first_line(line) == Some(line) || line.is_empty());
                }
                prop_assert!(py::char_len(py::take_chars(t, n)) <= n);
                let repr = py::str_repr(t);
                prop_assert!(repr.len() >= 2);
                prop_assert!(!repr.contains(UNSAFE_IN_REPR), "{:?}", repr);
            }
            match error_snippet(v) {
                Ok(Some(snippet)) => {
                    prop_assert!(py::char_len(&snippet) <= 501);
                    let title = title_line(&snippet);
                    prop_assert!(py::char_len(title) <= 160);
                    prop_assert!(!title.contains(LINE_BREAKS), "{:?}", title);
                }
                Ok(None) => {}
                Err(_) => prop_assert!(truthy && v.as_text().is_none()),
            }
            match Num::from_value(v) {
                Ok(Some(num)) => {
                    let _ = num.ge(other);
                    let _ = num.display();
                    serde_json::to_string(&num.to_json()).expect("a number serialises");
                }
                Ok(None) => prop_assert!(v.is_null()),
                Err(_) => prop_assert!(matches!(v, Value::Text(_) | Value::Blob(_))),
            }
            for mode in [PayloadMode::Fleet, PayloadMode::SingleTask] {
                if let Ok(p) = payload_object(v, mode) {
                    for key in ["phantom_cards", "phantom_refs"] {
                        if let Ok(ids) = iter_ids(&p, key) {
                            let mut unique = support::UniqueList::default();
                            unique.extend(ids.clone());
                            prop_assert!(unique.items().len() <= ids.len());
                            for id in unique.items() { prop_assert!(id.py_eq(id)); }
                        }
                    }
                }
            }
            let _ = support::check_logs_action(v);
        }
    }

    /// (1) The float helpers never panic and `repr` round-trips, as Python's does.
    #[test]
    fn float_helpers_never_panic(x in extreme_f64()) {
        let repr = py::float_repr(x);
        let back: f64 = repr.parse().expect("repr parses back");
        prop_assert!(
            back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()),
            "{} -> {}", x, repr
        );
        let _ = py::round1(x);
        let _ = py::fmt_1f(x);
        match py::float_to_int(x) {
            Some(i) => prop_assert_eq!(i as f64, x.trunc()),
            None => prop_assert!(!x.is_finite() || x.abs() >= 9.223_372_036_854_776e18),
        }
        let _ = crate::py::json::py_int(&json!(x));
        let _ = crate::py::object::Object::from_json(&json!(x)).py_float();
    }

    /// (2) Any rows through the whole registry, under both payload modes: no panic, only
    /// known kinds and severities, each kind once, sorted; `--rule` selects a subset of the
    /// same results; (3) and the same input gives the same output.
    #[test]
    fn registry_never_panics_and_is_deterministic(s in scenario(), pick in select(KINDS)) {
        let cfg = DiagConfig::default();
        for mode in [PayloadMode::Fleet, PayloadMode::SingleTask] {
            let (diags, failed) = diagnose(&s, &cfg, mode, None);
            check_output(&structs(&diags), &failed);
            let again = diagnose(&s, &cfg, mode, None);
            prop_assert_eq!(printed(&diags), printed(&again.0));
            prop_assert_eq!(&failed, &again.1);
            let only = [pick.to_string()];
            let (sub, sub_failed) = diagnose(&s, &cfg, mode, Some(&only));
            let expect: Vec<&String> =
                diags.iter().filter(|(d, _)| d.kind == pick).map(|(_, t)| t).collect();
            prop_assert_eq!(printed(&sub), expect);
            let expect_failed: Vec<_> =
                failed.iter().filter(|(k, _)| *k == pick).cloned().collect();
            prop_assert_eq!(sub_failed, expect_failed);
        }
    }

    /// (2) The same with odd configurations: thresholds that are text, huge, negative,
    /// non-finite or of the wrong type.
    #[test]
    fn registry_never_panics_on_odd_config(s in scenario(), cfg in config()) {
        for mode in [PayloadMode::Fleet, PayloadMode::SingleTask] {
            let (diags, failed) = diagnose(&s, &cfg, mode, None);
            check_output(&structs(&diags), &failed);
            let again = diagnose(&s, &cfg, mode, None);
            prop_assert_eq!(printed(&diags), printed(&again.0));
        }
    }

    /// (4) On plain ASCII decimal strings, `int()` and `float()` agree with Rust's parsers.
    #[test]
    fn parsers_agree_with_rust_on_plain_decimals(
        int in prop_oneof![
            3 => "[+-]?[0-9]{1,22}".boxed(),
            1 => extreme_i64().prop_map(|i| i.to_string()).boxed(),
        ],
        float in "[+-]?([0-9]{1,20}(\\.[0-9]{0,20})?|\\.[0-9]{1,20})([eE][+-]?[0-9]{1,3})?",
        pad in select(vec!["", " ", "\t", "\n", "\r\n", "\u{b}", "\u{a0}", "\u{2028}", "\u{3000}"]),
    ) {
        let padded = format!("{pad}{int}{pad}");
        prop_assert_eq!(py::parse_int(&int), int.parse::<i64>().ok(), "{:?}", int);
        prop_assert_eq!(py::parse_int(&padded), int.parse::<i64>().ok(), "{:?}", padded);
        prop_assert_eq!(
            Value::Text(padded.clone()).int_or_zero().ok().and_then(|i| i.to_i64()),
            int.parse::<i64>().ok()
        );
        prop_assert_eq!(crate::py::json::py_int(&json!(int)), int.parse::<i64>().ok());
        let expect = float.parse::<f64>().expect("the pattern is a Rust float");
        let got = py::parse_float(&format!("{pad}{float}{pad}"));
        prop_assert_eq!(got.map(f64::to_bits), Some(expect.to_bits()), "{:?}", float);
        prop_assert_eq!(py::parse_float(&int), int.parse::<f64>().ok());
    }

    /// (4) Underscores between digits are accepted and ignored, as `int("1_000")` does.
    #[test]
    fn parsers_accept_single_underscores_between_digits(
        groups in vec("[0-9]{1,4}", 1..6),
        neg in any::<bool>(),
    ) {
        let sign = if neg { "-" } else { "" };
        let plain = format!("{sign}{}", groups.concat());
        let underscored = format!("{sign}{}", groups.join("_"));
        prop_assert_eq!(py::parse_int(&underscored), plain.parse::<i64>().ok());
        prop_assert_eq!(py::parse_float(&underscored), plain.parse::<f64>().ok());
    }

    /// (5) `explain` gives each rule's verdict as the fleet evaluation does, and a quiet rule
    /// explains itself in one lower-case sentence that is none of the answers `why_not` keeps
    /// for a task it would fire or fail on: `why_not` follows `evaluate`'s decision path.
    #[test]
    fn explain_agrees_with_evaluate_and_explains_every_quiet_rule(
        s in scenario(),
        cfg in prop_oneof![Just(DiagConfig::default()), config()],
    ) {
        let params = Params::new(&cfg, s.now);
        let st = fold(&s, &params, PayloadMode::Fleet);
        let (diags, failed) = st.evaluate(&s.task, &params, s.now, None);
        let verdicts = st.explain(&s.task, &params, s.now);
        prop_assert_eq!(verdicts.len(), KINDS.len());
        for (kind, verdict) in verdicts {
            match verdict {
                Verdict::Fires { diagnostic } => {
                    prop_assert!(diags.contains(&diagnostic), "{}", kind);
                }
                Verdict::Failed { why } => {
                    prop_assert!(failed.iter().any(|(k, e)| *k == kind && e.0 == why));
                }
                Verdict::Quiet { why } => {
                    prop_assert!(diags.iter().all(|d| d.kind != kind));
                    prop_assert!(failed.iter().all(|(k, _)| *k != kind));
                    let first = why.chars().next();
                    prop_assert!(first.is_some_and(|c| !c.is_uppercase()), "{}: {:?}", kind, why);
                    prop_assert!(!why.ends_with('.'), "{}: {:?}", kind, why);
                    for unreachable in [
                        "its conditions are",
                        "it cannot be evaluated",
                        "the threshold setting is invalid",
                    ] {
                        prop_assert!(!why.starts_with(unreachable), "{}: {:?}", kind, why);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The same rows through SQLite and the real engine: the row decoder sees every storage
// class, including TEXT that is not UTF-8, and the columns' affinities apply.

/// A cell as it is written: a value, or raw bytes stored as TEXT without validation.
#[derive(Debug, Clone)]
enum Cell {
    V(Value),
    RawText(Vec<u8>),
}

fn sql_cell(v: Value) -> BoxedStrategy<Cell> {
    prop_oneof![
        8 => Just(Cell::V(v)),
        1 => blob().prop_map(Cell::RawText),
    ]
    .boxed()
}

fn bind(c: &Cell) -> (rusqlite::types::Value, bool) {
    use rusqlite::types::Value as Sql;
    match c {
        Cell::V(Value::Null) => (Sql::Null, false),
        Cell::V(Value::Int(i)) => (Sql::Integer(*i), false),
        Cell::V(Value::Real(f)) => (Sql::Real(*f), false),
        Cell::V(Value::Text(s)) => (Sql::Text(s.clone()), false),
        Cell::V(Value::Blob(b)) => (Sql::Blob(b.clone()), false),
        Cell::RawText(b) => (Sql::Blob(b.clone()), true),
    }
}

/// `?N`, or `CAST(?N AS TEXT)` for raw text (SQLite does not validate the bytes).
fn placeholder(i: usize, raw: bool) -> String {
    if raw {
        format!("CAST(?{i} AS TEXT)")
    } else {
        format!("?{i}")
    }
}

fn insert(conn: &rusqlite::Connection, table: &str, cols: &[&str], cells: &[Cell]) {
    let bound: Vec<_> = cells.iter().map(bind).collect();
    let marks: Vec<String> = bound
        .iter()
        .enumerate()
        .map(|(i, (_, raw))| placeholder(i + 1, *raw))
        .collect();
    let sql = format!(
        "INSERT OR IGNORE INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        marks.join(", ")
    );
    let values: Vec<_> = bound.into_iter().map(|(v, _)| v).collect();
    conn.execute(&sql, rusqlite::params_from_iter(values))
        .expect("insert");
}

/// NOT NULL columns get 0 instead of NULL, so every row is written.
fn not_null(c: Cell) -> Cell {
    match c {
        Cell::V(Value::Null) => Cell::V(Value::Int(0)),
        c => c,
    }
}

#[derive(Debug, Clone)]
struct Board {
    tasks: Vec<Vec<Cell>>,
    events: Vec<(usize, Vec<Cell>)>,
    runs: Vec<(usize, Vec<Cell>)>,
    now: i64,
}

fn board() -> BoxedStrategy<Board> {
    (1usize..4, scenario())
        .prop_flat_map(|(n, s)| {
            let task = |t: TaskRow| {
                (
                    sql_cell(t.id),
                    sql_cell(t.title),
                    sql_cell(t.status),
                    sql_cell(t.assignee),
                    sql_cell(t.claim_lock),
                    sql_cell(t.created_at),
                    sql_cell(t.consecutive_failures),
                    sql_cell(t.last_failure_error),
                )
                    .prop_map(|(a, b, c, d, e, f, g, h)| vec![a, b, c, d, e, f, g, h])
            };
            let events: Vec<_> = s
                .events
                .iter()
                .cloned()
                .map(|e| {
                    (
                        0..n,
                        sql_cell(e.kind),
                        sql_cell(e.payload),
                        sql_cell(e.created_at),
                    )
                        .prop_map(|(t, a, b, c)| (t, vec![a, b, c]))
                })
                .collect();
            let runs: Vec<_> = s
                .runs
                .iter()
                .cloned()
                .map(|r| {
                    (0..n, sql_cell(r.outcome), sql_cell(r.error))
                        .prop_map(|(t, a, b)| (t, vec![a, b]))
                })
                .collect();
            let base = match s.task.created_at {
                Value::Int(i) => i,
                _ => 1_700_000_000,
            };
            let tasks = vec(task_row(base, true), n)
                .prop_flat_map(move |rows| rows.into_iter().map(task).collect::<Vec<_>>());
            (tasks, events, runs, Just(s.now))
        })
        .prop_map(|(tasks, events, runs, now)| Board {
            tasks,
            events,
            runs,
            now,
        })
        .boxed()
}

fn write_board(path: &std::path::Path, b: &Board) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("create board");
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN")
        .expect("begin");
    let reference = crate::board::reference::reference();
    for name in ["tasks", "task_events", "task_runs"] {
        let table = reference.table(name).expect("reference table");
        conn.execute_batch(&table.sql).expect("create table");
    }
    for t in &b.tasks {
        let mut cells = t.clone();
        // title, status and created_at are NOT NULL in the reference schema.
        for i in [1, 2, 5, 6] {
            cells[i] = not_null(cells[i].clone());
        }
        insert(
            &conn,
            "tasks",
            &[
                "id",
                "title",
                "status",
                "assignee",
                "claim_lock",
                "created_at",
                "consecutive_failures",
                "last_failure_error",
            ],
            &cells,
        );
    }
    let id_cell = |i: usize| match &b.tasks[i][0] {
        c @ Cell::V(_) => not_null(c.clone()),
        Cell::RawText(_) => Cell::V(Value::Int(i as i64)),
    };
    for (t, cells) in &b.events {
        let mut row = vec![id_cell(*t)];
        row.push(not_null(cells[0].clone()));
        row.push(cells[1].clone());
        row.push(not_null(cells[2].clone()));
        insert(
            &conn,
            "task_events",
            &["task_id", "kind", "payload", "created_at"],
            &row,
        );
    }
    for (t, cells) in &b.runs {
        let mut row = vec![id_cell(*t), Cell::V(Value::Text("done".into()))];
        row.extend(cells.iter().cloned());
        row.push(Cell::V(Value::Int(0)));
        insert(
            &conn,
            "task_runs",
            &["task_id", "status", "outcome", "error", "started_at"],
            &row,
        );
    }
    conn.execute_batch("COMMIT").expect("commit");
    // The ids `--task` can name: the text ones written (duplicates are ignored) whose bytes
    // are UTF-8; the others are decoded lossily and cannot be named.
    let mut stmt = conn
        .prepare("SELECT CAST(id AS BLOB) FROM tasks WHERE typeof(id) = 'text'")
        .expect("select ids");
    stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .expect("read ids")
        .filter_map(|v| String::from_utf8(v.ok()?).ok())
        .collect()
}

fn run_engine(path: &std::path::Path, now: i64, task: Option<String>) -> String {
    let opts = crate::diagnose::Options {
        now,
        task,
        severity: None,
        only: None,
        wait: std::time::Duration::from_millis(100),
    };
    let mut reports = Vec::new();
    let summary = crate::diagnose::run(path, &DiagConfig::default(), &opts, |r| {
        check_output(&r.diagnostics, &[]);
        reports.push(crate::py::json::to_string(&r));
        Ok(())
    })
    .expect("diagnose runs");
    let failures: Vec<_> = summary
        .failures
        .0
        .iter()
        .map(|f| (f.kind, f.why, f.tasks, f.examples.clone()))
        .collect();
    for (kind, ..) in &failures {
        assert!(KINDS.contains(kind));
    }
    format!("{reports:?}\n{failures:?}")
}

proptest! {
    #![proptest_config(cfg(32))]

    /// (2)+(3) End to end: arbitrary cells written to a board file, read back by the row
    /// decoder and diagnosed by the engine for the fleet and for each task, twice.
    #[test]
    fn engine_never_panics_on_any_board(b in board()) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kanban.db");
        let ids = write_board(&path, &b);
        let first = run_engine(&path, b.now, None);
        prop_assert_eq!(&first, &run_engine(&path, b.now, None));
        for id in ids {
            let one = run_engine(&path, b.now, Some(id.clone()));
            prop_assert_eq!(&one, &run_engine(&path, b.now, Some(id)));
        }
    }
}
