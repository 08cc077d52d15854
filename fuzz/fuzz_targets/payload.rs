//! Arbitrary bytes as an event payload cell, through the payload parsing and id collection
//! of the two hallucination rules, in both payload modes.
//!
//! Nothing may panic, and `UniqueList` must build exactly the list that Python's
//! `if x not in xs: xs.append(x)` builds: never two `py_eq`-equal items, the first of each
//! group kept, in order. Items that `py_eq` calls equal must hash alike (`py_hash` is
//! private, so this is checked through the list: two equal ids must collapse to one).
//!
//! Random bytes are rarely a JSON object holding a list, so each input is also read a
//! second way: as the choices that build a payload (`{"phantom_cards": [...], ...}` with
//! ids drawn towards the values Python equality merges: `1`, `1.0`, `true`, `-0.0`,
//! `2**53` against `2**53 + 1`, `u64::MAX`, ints beyond 64 bits, `NaN` and the
//! infinities, nested lists and dicts), serialised as `json.dumps` writes it, sometimes
//! encoded twice the way a pre-encoded payload is, and run the same way.

#![no_main]

use kanban_doctor::fuzzing::{ActiveHits, UniqueList, iter_ids, payload_object};
use kanban_doctor::fuzzing::{Dict, EventRow, Int, Object, PayloadMode, to_string_compact};
use kanban_doctor::fuzzing::Value;
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Pairwise checks only on lists this small, to keep every input linear.
const SMALL: usize = 64;

/// The keys the rules read (`hallucinated_cards`, `prose_phantom_refs`).
const RULE_KEYS: [&str; 2] = ["phantom_cards", "phantom_refs"];
const RULE_EVENT: &str = "completion_blocked_hallucination";

fn check_unique(list: &UniqueList, all: &[Object]) {
    let items = list.items();
    assert!(items.len() <= all.len());
    if items.len() <= SMALL {
        for (i, a) in items.iter().enumerate() {
            assert!(a.py_eq(a), "{a:?} != itself");
            for b in &items[i + 1..] {
                assert!(
                    !a.py_eq(b),
                    "UniqueList holds {a:?} and {b:?}, which are equal"
                );
            }
        }
    }
    if all.len() <= SMALL {
        // The reference's quadratic loop, as the oracle.
        let mut naive: Vec<Object> = Vec::new();
        for x in all {
            if !naive.iter().any(|e| e.py_eq(x)) {
                naive.push(x.clone());
            }
        }
        assert_eq!(items, naive.as_slice(), "UniqueList differs from `not in`");
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let eq = a.py_eq(b);
                assert_eq!(eq, b.py_eq(a), "py_eq({a:?}, {b:?}) is not symmetric");
                if eq && a != b {
                    // Equal items must hash alike, or the table would not find the first.
                    // (Identical ones hash alike by construction; skip them, they are many.)
                    let mut pair = UniqueList::default();
                    pair.extend(vec![a.clone(), b.clone()]);
                    assert_eq!(pair.items().len(), 1, "{a:?} == {b:?} but both were kept");
                }
            }
        }
    }
}

fn run(cell: &Value, mode: PayloadMode) {
    let parsed = payload_object(cell, mode);
    // The rule path: an active hallucination event folded twice, as two rows would be.
    let ev = EventRow {
        kind: &Value::Text(RULE_EVENT.into()),
        created_at: &Value::Int(1),
        payload: cell,
        mode,
    };
    let mut hits = ActiveHits::default();
    hits.on_event(&ev, RULE_EVENT, RULE_KEYS[0]);
    hits.on_event(&ev, RULE_EVENT, RULE_KEYS[0]);
    let from_rule = hits.get();

    let Ok(payload) = parsed else {
        assert!(
            from_rule.is_err(),
            "payload_object failed but the rule did not"
        );
        return;
    };
    // The rules' keys, then every key the payload has (so the fuzzer need not guess them).
    let keys = RULE_KEYS
        .iter()
        .map(|k| k.to_string())
        .chain(payload.keys().cloned());
    let mut all = Vec::new();
    let mut list = UniqueList::default();
    for (n, key) in keys.enumerate() {
        let ids = iter_ids(&payload, &key);
        if n == 0 {
            // What the rule collected for its key, from the same payload twice.
            match (&ids, &from_rule) {
                (Ok(ids), Ok(Some((h, _, _)))) => {
                    assert_eq!(h.count, 2);
                    let mut direct = UniqueList::default();
                    direct.extend(ids.clone());
                    assert_eq!(h.ids.items(), direct.items());
                }
                (Err(_), Err(_)) => {}
                (ids, rule) => panic!("iter_ids gave {ids:?} but the rule {rule:?}"),
            }
        }
        if let Ok(ids) = ids {
            all.extend(ids.iter().cloned());
            list.extend(ids);
        }
    }
    check_unique(&list, &all);
    // The same ids again add nothing.
    let before = list.items().to_vec();
    list.extend(all);
    assert_eq!(list.items(), before.as_slice());
}

/// Integers around the places where int/float equality is delicate.
const INTS: [i64; 10] = [
    0,
    1,
    -1,
    2,
    1 << 53,
    (1 << 53) + 1,
    i64::MAX,
    i64::MIN,
    -(1 << 53),
    (1 << 53) - 1,
];

/// A decoded value from the fuzzer's choices, at most `depth` collections deep.
fn gen_value(u: &mut Unstructured<'_>, depth: u32) -> ArbResult<Object> {
    let top = if depth == 0 { 8 } else { 10 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Object::None,
        1 => Object::Bool(u.arbitrary()?),
        2 => Object::Int(Int::from(*u.choose(&INTS)?)),
        3 => Object::Int(Int::from(u.arbitrary::<i64>()?)),
        4 => Object::Int(Int::from(
            i128::from(u64::MAX) + i128::from(u.int_in_range(-3i8..=3)?),
        )),
        // An integral float, to meet its integer.
        5 => Object::Float(match u.int_in_range(0..=3)? {
            0 => *u.choose(&INTS)? as f64,
            1 => -0.0,
            2 => 18_446_744_073_709_551_616.0, // 2**64
            _ => f64::from(u.arbitrary::<i32>()?),
        }),
        6 => Object::Float(f64::from_bits(u.arbitrary()?)),
        7 => Object::Float(*u.choose(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY])?),
        8 => Object::Str(gen_key(u)?),
        9 => {
            let n = u.int_in_range(0..=4)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(gen_value(u, depth - 1)?);
            }
            Object::List(items)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut map = Dict::default();
            for _ in 0..n {
                map.insert(gen_key(u)?, gen_value(u, depth - 1)?);
            }
            Object::Dict(Box::new(map))
        }
    })
}

/// A short string from a small alphabet, so that equal ones come up often.
fn gen_key(u: &mut Unstructured<'_>) -> ArbResult<String> {
    let n = u.int_in_range(0..=3)?;
    (0..n)
        .map(|_| u.choose(&['a', 'b', '1', 'é']).copied())
        .collect()
}

/// A payload built from the fuzzer's choices, as the text a board would hold.
fn gen_payload(u: &mut Unstructured<'_>) -> ArbResult<String> {
    let mut payload = Dict::default();
    for key in RULE_KEYS {
        let ids = match u.int_in_range(0..=7)? {
            0 => continue,
            // Mostly a list of ids, as the hooks write them.
            1..=5 => {
                let n = u.int_in_range(0..=80)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(gen_value(u, 2)?);
                }
                Object::List(items)
            }
            _ => gen_value(u, 2)?,
        };
        payload.insert(key.to_string(), ids);
    }
    let text = to_string_compact(&Object::Dict(Box::new(payload)));
    // A pre-encoded payload: the single-task path decodes a JSON string once more.
    Ok(if u.ratio(1, 4)? {
        to_string_compact(&Object::Str(text))
    } else {
        text
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let cell = Value::Text(text.to_owned());
        run(&cell, PayloadMode::Fleet);
        run(&cell, PayloadMode::SingleTask);
    }
    // A BLOB payload: the single-task path decodes it, the fleet path ignores it.
    let cell = Value::Blob(data.to_vec());
    run(&cell, PayloadMode::Fleet);
    run(&cell, PayloadMode::SingleTask);
    if let Ok(text) = gen_payload(&mut Unstructured::new(data)) {
        let cell = Value::Text(text);
        run(&cell, PayloadMode::Fleet);
        run(&cell, PayloadMode::SingleTask);
    }
});
