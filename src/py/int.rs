//! Python's `int`: exact at every size.
//!
//! The reference never overflows: `int(1e20)` is `100000000000000000000`, `int('9' * 40)`
//! keeps all forty digits, and `now - ready_since` is exact however far apart the two are.
//! Boards can hold such values (a REAL timestamp, a long string of digits), and the
//! reference then prints them, compares them with floats exactly and divides them with a
//! correctly rounded result. [`Int`] does the same: an `i64` for every value that fits
//! (no allocation on the common path), and sign and magnitude beyond that.
//!
//! Only what the reference's rules do with integers is here: parsing (`int(str)`), `int()`
//! of a float, subtraction, comparison with ints and floats, `float()` and true division
//! by a small int, and `str()`.

use std::cmp::Ordering;
use std::fmt;

/// An integer of any size, compared and printed as Python does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Int {
    /// Every value that fits in an `i64` is held here, so equal values are equal variants.
    Small(i64),
    /// A value beyond `i64`: its sign and its magnitude, base 2^32, least significant
    /// limb first, without leading zero limbs.
    Big { negative: bool, magnitude: Vec<u32> },
}

impl Default for Int {
    fn default() -> Self {
        Int::Small(0)
    }
}

impl From<i64> for Int {
    fn from(v: i64) -> Self {
        Int::Small(v)
    }
}

impl From<i32> for Int {
    fn from(v: i32) -> Self {
        Int::Small(i64::from(v))
    }
}

impl From<i128> for Int {
    fn from(v: i128) -> Self {
        match i64::try_from(v) {
            Ok(s) => Int::Small(s),
            Err(_) => Int::from_parts(v < 0, mag_from_u128(v.unsigned_abs())),
        }
    }
}

/// The most digits `int()` reads from text (CPython 3.11's `sys.int_info`
/// `default_max_str_digits`); longer input raises `ValueError`.
pub const MAX_STR_DIGITS: usize = 4300;

impl Int {
    /// The value with this sign and magnitude, as a `Small` whenever it fits.
    fn from_parts(negative: bool, mut magnitude: Vec<u32>) -> Int {
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        if magnitude.len() <= 2 {
            let m = magnitude
                .iter()
                .rev()
                .fold(0u64, |acc, &l| (acc << 32) | u64::from(l));
            let v = if negative {
                -i128::from(m)
            } else {
                i128::from(m)
            };
            if let Ok(s) = i64::try_from(v) {
                return Int::Small(s);
            }
        }
        Int::Big {
            negative,
            magnitude,
        }
    }

    /// Sign and magnitude, whichever variant holds the value.
    fn parts(&self) -> (bool, Vec<u32>) {
        match self {
            Int::Small(v) => (*v < 0, mag_from_u128(u128::from(v.unsigned_abs()))),
            Int::Big {
                negative,
                magnitude,
            } => (*negative, magnitude.clone()),
        }
    }

    /// The value as an `i64`, when it fits.
    pub fn to_i64(&self) -> Option<i64> {
        match self {
            Int::Small(v) => Some(*v),
            Int::Big { .. } => None,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Int::Small(0)
    }

    /// `int(x)` for a float: truncation toward zero, exact however large the float is.
    /// `None` where Python raises (NaN, infinities).
    pub fn from_f64(x: f64) -> Option<Int> {
        if !x.is_finite() {
            return None;
        }
        let t = x.trunc();
        // Below 2^63 the conversion is exact; -2^63 itself is exact as a float too.
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
            return Some(Int::Small(t as i64));
        }
        // |t| >= 2^63: an integer m * 2^e with a 53-bit m and e > 0.
        let bits = t.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as u32;
        let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
        let shift = exponent - 1075;
        Some(Int::from_parts(
            t < 0.0,
            mag_shl(&mag_from_u128(u128::from(mantissa)), shift),
        ))
    }

    /// `int(s)` for a str. Python first maps every non-ASCII whitespace character to a space
    /// and every decimal digit of any script to its ASCII digit (ASCII is left as it is, so
    /// `\x1c`..`\x1f` stay and are not whitespace here, unlike in `str.strip()`). Then:
    /// optional surrounding whitespace, an optional sign, and digits with single
    /// underscores between them, at most [`MAX_STR_DIGITS`] of them. `None` where Python
    /// raises `ValueError`.
    pub fn parse(s: &str) -> Option<Int> {
        let t = s.trim_matches(char::is_whitespace);
        let (negative, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let mut small: i64 = 0;
        let mut big: Option<Vec<u32>> = None;
        let mut digits = 0usize;
        let mut after_underscore = false;
        for c in body.chars() {
            if c == '_' {
                // An underscore only between two digits: not first, not doubled.
                if digits == 0 || after_underscore {
                    return None;
                }
                after_underscore = true;
                continue;
            }
            let d = super::decimal_value(c)?;
            after_underscore = false;
            digits += 1;
            if digits > MAX_STR_DIGITS {
                return None;
            }
            match &mut big {
                None => match small
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i64::from(d)))
                {
                    Some(v) => small = v,
                    None => {
                        let mut m = mag_from_u128(small as u128);
                        mag_mul_add(&mut m, 10, d);
                        big = Some(m);
                    }
                },
                Some(m) => mag_mul_add(m, 10, d),
            }
        }
        if digits == 0 || after_underscore {
            return None;
        }
        Some(match big {
            None if negative => Int::Small(-small),
            None => Int::Small(small),
            Some(m) => Int::from_parts(negative, m),
        })
    }

    /// `int(b)` for bytes: the same grammar, but bytes are not decoded, so only ASCII
    /// whitespace and ASCII digits count (`int(b'\xc2\xa012')` raises).
    pub fn parse_bytes(b: &[u8]) -> Option<Int> {
        if !b.is_ascii() {
            return None;
        }
        Int::parse(std::str::from_utf8(b).ok()?)
    }

    /// `float(self)`: correctly rounded, ties to even. `None` where Python raises
    /// `OverflowError` (the value rounds to 2^1024 or beyond).
    pub fn to_f64(&self) -> Option<f64> {
        match self {
            // `as` rounds to nearest, ties to even.
            Int::Small(v) => Some(*v as f64),
            Int::Big {
                negative,
                magnitude,
            } => mag_to_f64(magnitude, false, 0).map(|f| if *negative { -f } else { f }),
        }
    }

    /// `self / d` for a positive int `d`: Python's true division of two ints, which is
    /// correctly rounded (not `float(self) / d`, which rounds twice). `None` where Python
    /// raises `OverflowError`.
    pub fn div_to_f64(&self, d: u32) -> Option<f64> {
        assert!(d > 0, "division by zero");
        let (negative, magnitude) = self.parts();
        // Below 2^53 both operands are exact floats, and IEEE division rounds correctly.
        if mag_bits(&magnitude) <= 53 {
            let f = mag_to_f64(&magnitude, false, 0)? / f64::from(d);
            return Some(if negative { -f } else { f });
        }
        // Scale up so the integer quotient has more bits than a float keeps; the
        // remainder then only decides ties.
        const SCALE: u32 = 96;
        let (q, r) = mag_divrem_small(&mag_shl(&magnitude, SCALE), d);
        let f = mag_to_f64(&q, r != 0, -(SCALE as i32))?;
        Some(if negative { -f } else { f })
    }

    /// Python's comparison of an int with a float, which is exact (`2**53 + 1 > 2.0**53`).
    /// `None` against NaN, where every comparison is false.
    pub fn cmp_f64(&self, f: f64) -> Option<Ordering> {
        if f.is_nan() {
            return None;
        }
        if f.is_infinite() {
            return Some(if f > 0.0 {
                Ordering::Less
            } else {
                Ordering::Greater
            });
        }
        let floor = Int::from_f64(f.floor()).expect("a finite float has a floor");
        Some(match self.cmp(&floor) {
            Ordering::Equal if f.fract() != 0.0 => Ordering::Less,
            o => o,
        })
    }

    /// `self < f` in Python.
    pub fn lt_f64(&self, f: f64) -> bool {
        self.cmp_f64(f) == Some(Ordering::Less)
    }

    /// `self >= f` in Python.
    pub fn ge_f64(&self, f: f64) -> bool {
        matches!(self.cmp_f64(f), Some(Ordering::Greater | Ordering::Equal))
    }

    /// `self - other`, exact.
    pub fn sub(&self, other: &Int) -> Int {
        if let (Int::Small(a), Int::Small(b)) = (self, other) {
            return Int::from(i128::from(*a) - i128::from(*b));
        }
        let (an, am) = self.parts();
        let (bn, bm) = other.parts();
        // a - b = a + (-b)
        let bn = !bn;
        if an == bn {
            return Int::from_parts(an, mag_add(&am, &bm));
        }
        match mag_cmp(&am, &bm) {
            Ordering::Equal => Int::Small(0),
            Ordering::Greater => Int::from_parts(an, mag_sub(&am, &bm)),
            Ordering::Less => Int::from_parts(bn, mag_sub(&bm, &am)),
        }
    }
}

impl Ord for Int {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => a.cmp(b),
            // A big value lies beyond every small one, on its own side of zero.
            (Int::Big { negative, .. }, Int::Small(_)) => {
                if *negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Int::Small(_), Int::Big { .. }) => other.cmp(self).reverse(),
            (
                Int::Big {
                    negative: an,
                    magnitude: am,
                },
                Int::Big {
                    negative: bn,
                    magnitude: bm,
                },
            ) => match (an, bn) {
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (false, false) => mag_cmp(am, bm),
                (true, true) => mag_cmp(bm, am),
            },
        }
    }
}

impl PartialOrd for Int {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<i64> for Int {
    fn eq(&self, other: &i64) -> bool {
        *self == Int::Small(*other)
    }
}

impl PartialOrd<i64> for Int {
    fn partial_cmp(&self, other: &i64) -> Option<Ordering> {
        Some(self.cmp(&Int::Small(*other)))
    }
}

/// `str(self)`: the decimal digits, with a `-` when negative.
impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Int::Small(v) => write!(f, "{v}"),
            Int::Big {
                negative,
                magnitude,
            } => {
                const CHUNK: u32 = 1_000_000_000;
                let mut chunks = Vec::new();
                let mut rest = magnitude.clone();
                while !rest.is_empty() {
                    let (q, r) = mag_divrem_small(&rest, CHUNK);
                    chunks.push(r);
                    rest = q;
                }
                if *negative {
                    f.write_str("-")?;
                }
                let mut it = chunks.iter().rev();
                if let Some(first) = it.next() {
                    write!(f, "{first}")?;
                }
                it.try_for_each(|c| write!(f, "{c:09}"))
            }
        }
    }
}

// Magnitudes: base 2^32, least significant limb first, no leading zero limbs.

fn mag_from_u128(mut v: u128) -> Vec<u32> {
    let mut m = Vec::new();
    while v != 0 {
        m.push(v as u32);
        v >>= 32;
    }
    m
}

fn mag_cmp(a: &[u32], b: &[u32]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

fn mag_add(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(long.len() + 1);
    let mut carry = 0u64;
    for (i, &l) in long.iter().enumerate() {
        let s = u64::from(l) + u64::from(short.get(i).copied().unwrap_or(0)) + carry;
        out.push(s as u32);
        carry = s >> 32;
    }
    if carry != 0 {
        out.push(carry as u32);
    }
    out
}

/// `a - b` for `a >= b`.
fn mag_sub(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i64;
    for (i, &l) in a.iter().enumerate() {
        let mut d = i64::from(l) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        borrow = i64::from(d < 0);
        if d < 0 {
            d += 1 << 32;
        }
        out.push(d as u32);
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// `m = m * mul + add`.
fn mag_mul_add(m: &mut Vec<u32>, mul: u32, add: u32) {
    let mut carry = u64::from(add);
    for l in m.iter_mut() {
        let p = u64::from(*l) * u64::from(mul) + carry;
        *l = p as u32;
        carry = p >> 32;
    }
    if carry != 0 {
        m.push(carry as u32);
    }
}

fn mag_divrem_small(a: &[u32], d: u32) -> (Vec<u32>, u32) {
    let mut q = vec![0u32; a.len()];
    let mut r = 0u64;
    for i in (0..a.len()).rev() {
        let cur = (r << 32) | u64::from(a[i]);
        q[i] = (cur / u64::from(d)) as u32;
        r = cur % u64::from(d);
    }
    while q.last() == Some(&0) {
        q.pop();
    }
    (q, r as u32)
}

fn mag_shl(a: &[u32], bits: u32) -> Vec<u32> {
    if a.is_empty() {
        return Vec::new();
    }
    let (limbs, bits) = ((bits / 32) as usize, bits % 32);
    let mut out = vec![0u32; limbs];
    let mut carry = 0u32;
    for &l in a {
        if bits == 0 {
            out.push(l);
        } else {
            out.push((l << bits) | carry);
            carry = l >> (32 - bits);
        }
    }
    if carry != 0 {
        out.push(carry);
    }
    out
}

fn mag_bits(a: &[u32]) -> u32 {
    match a.last() {
        None => 0,
        Some(&top) => (a.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
    }
}

/// `m * 2^scale` as a float, rounded to nearest with ties to even; `sticky` says that the
/// exact value lies strictly above `m * 2^scale` (by less than one unit of `m`). `None`
/// when the result overflows. The callers' results never fall in the subnormal range.
fn mag_to_f64(m: &[u32], sticky: bool, scale: i32) -> Option<f64> {
    let n = mag_bits(m);
    if n == 0 {
        return Some(0.0);
    }
    // The 64 most significant bits, and whether any bit below them is set.
    let mut top: u64 = 0;
    let mut below = sticky;
    for i in (0..n).rev().take(64) {
        let bit = (m[(i / 32) as usize] >> (i % 32)) & 1;
        top = (top << 1) | u64::from(bit);
    }
    if n < 64 {
        top <<= 64 - n;
    } else {
        below |= (0..n - 64).any(|i| (m[(i / 32) as usize] >> (i % 32)) & 1 == 1);
    }
    // Keep 53 bits; bit 10 is the rounding bit, bits 0..9 and `below` the sticky part.
    let mut keep = top >> 11;
    let guard = top & (1 << 10) != 0;
    let rest = top & ((1 << 10) - 1) != 0 || below;
    if guard && (rest || keep & 1 == 1) {
        keep += 1;
    }
    let mut exp = n as i64 - 53 + i64::from(scale);
    if keep == 1 << 53 {
        keep >>= 1;
        exp += 1;
    }
    // keep < 2^53, so the value is below 2^(exp + 53); the largest float is below 2^1024.
    if exp + 53 > 1024 {
        return None;
    }
    Some(ldexp(keep as f64, exp as i32))
}

/// `x * 2^e`, exact for the normal results the callers produce.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Int {
        Int::parse(s).unwrap()
    }

    #[test]
    fn small_values_stay_small_and_big_ones_print_every_digit() {
        assert_eq!(int("9223372036854775807"), Int::Small(i64::MAX));
        assert_eq!(int("-9223372036854775808"), Int::Small(i64::MIN));
        assert!(matches!(int("9223372036854775808"), Int::Big { .. }));
        for s in [
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "100000000000000000000",
            "-123456789012345678901234567890123456789012345678901234567890",
        ] {
            assert_eq!(int(s).to_string(), s);
        }
        // Leading zeros are read and not printed.
        assert_eq!(
            int("000100000000000000000000").to_string(),
            "100000000000000000000"
        );
    }

    #[test]
    fn int_of_text_stops_at_the_digit_limit() {
        // Python 3.11: int('1' * 4300) works, one more digit raises; leading zeros count,
        // underscores do not.
        assert!(Int::parse(&"1".repeat(4300)).is_some());
        assert!(Int::parse(&"1".repeat(4301)).is_none());
        assert!(Int::parse(&"0".repeat(4301)).is_none());
        let underscored = format!("{}1", "1_".repeat(4299));
        assert!(Int::parse(&underscored).is_some());
    }

    #[test]
    fn int_of_a_float_is_exact_at_every_size() {
        // int(1e20), int(-1e20), int(2.0**63), int(1e300)
        assert_eq!(
            Int::from_f64(1e20).unwrap().to_string(),
            "100000000000000000000"
        );
        assert_eq!(
            Int::from_f64(-1e20).unwrap().to_string(),
            "-100000000000000000000"
        );
        assert_eq!(
            Int::from_f64(9_223_372_036_854_775_808.0)
                .unwrap()
                .to_string(),
            "9223372036854775808"
        );
        assert_eq!(
            Int::from_f64(-9_223_372_036_854_775_808.0).unwrap(),
            Int::Small(i64::MIN)
        );
        assert_eq!(
            Int::from_f64(1e300).unwrap().to_string(),
            "1000000000000000052504760255204420248704468581108159154915854115511802457988908\
             1957863713750804478640437044438328838781769425232353604305756447921847867069828\
             4838720092657580373783023379478809005936895323497079994508111903896764088007465\
             2742780142494579258788820056842838115669472196386865459400540160"
        );
        assert_eq!(Int::from_f64(-3.9), Some(Int::Small(-3)));
        assert_eq!(Int::from_f64(f64::NAN), None);
        assert_eq!(Int::from_f64(f64::INFINITY), None);
    }

    #[test]
    fn subtraction_is_exact_beyond_64_bits() {
        let now = Int::Small(1_767_225_600);
        assert_eq!(
            now.sub(&int("-100000000000000000000")).to_string(),
            "100000000001767225600"
        );
        assert_eq!(
            now.sub(&int("100000000000000000000")).to_string(),
            "-99999999998232774400"
        );
        assert_eq!(
            int("100000000000000000000").sub(&int("100000000000000000000")),
            0
        );
        // Crossing back into i64 gives a small value again.
        assert_eq!(
            int("9223372036854775808").sub(&Int::Small(1)),
            Int::Small(i64::MAX)
        );
        assert_eq!(
            Int::Small(i64::MIN).sub(&Int::Small(1)).to_string(),
            "-9223372036854775809"
        );
    }

    #[test]
    fn ordering_is_numeric_across_sizes() {
        let mut v = [
            int("100000000000000000000"),
            Int::Small(-1),
            int("-100000000000000000000"),
            int("-100000000000000000001"),
            Int::Small(i64::MAX),
            int("99999999999999999999"),
            Int::Small(0),
        ];
        v.sort();
        let shown: Vec<String> = v.iter().map(Int::to_string).collect();
        assert_eq!(
            shown,
            [
                "-100000000000000000001",
                "-100000000000000000000",
                "-1",
                "0",
                "9223372036854775807",
                "99999999999999999999",
                "100000000000000000000",
            ]
        );
    }

    #[test]
    fn float_of_an_int_rounds_to_nearest_even_and_overflows_like_python() {
        // float(2**53 + 1) == 2**53, float(2**53 + 3) == 2**53 + 4
        assert_eq!(
            int("9007199254740993").to_f64(),
            Some(9_007_199_254_740_992.0)
        );
        assert_eq!(
            int("9007199254740995").to_f64(),
            Some(9_007_199_254_740_996.0)
        );
        assert_eq!(
            int("100000000001767225600").to_f64(),
            Some(1.000_000_000_017_672_3e20)
        );
        // float(2**1024 - 2**970) raises, one less rounds down to the largest float.
        let two_1023 = Int::from_f64(2f64.powi(1023)).unwrap();
        let big = two_1023.sub(&Int::from_f64(-(2f64.powi(1023))).unwrap());
        assert_eq!(big.to_f64(), None);
        let just_below = big.sub(&Int::from_f64(2f64.powi(970)).unwrap());
        assert_eq!(just_below.to_f64(), None);
        assert_eq!(just_below.sub(&Int::Small(1)).to_f64(), Some(f64::MAX));
        assert_eq!(int("-100000000000000000000").to_f64(), Some(-1e20));
    }

    #[test]
    fn true_division_rounds_once() {
        // Python: 100000000001767225600 / 3600 == 2.777777777826867e+16, while
        // float(100000000001767225600) / 3600 == 2.7777777778268676e+16.
        let age = int("100000000001767225600");
        assert_eq!(age.div_to_f64(3600), Some(2.777_777_777_826_867e16));
        assert_eq!(age.to_f64().unwrap() / 3600.0, 2.777_777_777_826_867_6e16);
        assert_eq!(Int::Small(10_800).div_to_f64(3600), Some(3.0));
        assert_eq!(Int::Small(-90).div_to_f64(60), Some(-1.5));
        assert_eq!(Int::Small(0).div_to_f64(60), Some(0.0));
        // (10**400) / 3600 raises OverflowError.
        let huge = Int::parse(&format!("1{}", "0".repeat(400))).unwrap();
        assert_eq!(huge.div_to_f64(3600), None);
        assert_eq!(huge.to_f64(), None);
    }

    #[test]
    fn comparison_with_a_float_is_exact() {
        let two_53_plus_3 = int("9007199254740995");
        // 2**53 + 3 < 2.0**53 + 4 in Python, though float(2**53 + 3) == 2.0**53 + 4.
        assert!(two_53_plus_3.lt_f64(9_007_199_254_740_996.0));
        assert!(!two_53_plus_3.ge_f64(9_007_199_254_740_996.0));
        assert!(two_53_plus_3.ge_f64(9_007_199_254_740_994.0));
        assert!(Int::Small(3).lt_f64(3.5) && !Int::Small(4).lt_f64(3.5));
        assert!(Int::Small(-4).lt_f64(-3.5) && !Int::Small(-3).lt_f64(-3.5));
        assert!(Int::Small(3).ge_f64(3.0) && !Int::Small(2).ge_f64(3.0));
        assert!(int("100000000000000000000").lt_f64(f64::INFINITY));
        assert!(int("-100000000000000000000").ge_f64(f64::NEG_INFINITY));
        // Every comparison with NaN is false.
        assert!(!Int::Small(0).lt_f64(f64::NAN) && !Int::Small(0).ge_f64(f64::NAN));
        assert!(
            int("100000000000000000001").ge_f64(1e20) && !int("99999999999999999999").ge_f64(1e20)
        );
    }
}
