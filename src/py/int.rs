//! Python's `int`: exact at every size.
//!
//! The reference never overflows: `int(1e20)` is `100000000000000000000`, `int('9' * 40)`
//! keeps all forty digits, and `now - ready_since` is exact however far apart the two are.
//! Boards can hold such values (a REAL timestamp, a long string of digits), and the
//! reference then prints them, compares them with floats exactly and divides them with a
//! correctly rounded result. [`Int`] does the same: an `i64` for every value that fits
//! (no allocation on the common path), and a [`num_bigint::BigInt`] beyond that.
//!
//! Only what the reference's rules do with integers is here: parsing (`int(str)`), `int()`
//! of a float, subtraction, comparison with ints and floats, `float()` and true division
//! by a small int, and `str()`. The arithmetic is `num-bigint`'s; what is Python's own
//! (the `int()` grammar, the digit limit, exact comparison with a float, `OverflowError`
//! where a float cannot hold the result, true division rounded once) is written on top.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, BigUint};
use num_traits::{FromPrimitive, Signed, ToPrimitive, Zero};

/// An integer of any size, compared and printed as Python does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Int {
    /// Every value that fits in an `i64` is held here, so equal values are equal variants.
    Small(i64),
    /// A value beyond `i64`, and only such a value.
    /// Boxed: the per-task states of the rules hold `Int`s, and a value beyond `i64` is
    /// rare enough that the common one should cost 16 bytes, not 32.
    Big(Box<BigInt>),
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
            Err(_) => Int::Big(Box::new(BigInt::from(v))),
        }
    }
}

/// The most digits `int()` reads from text (CPython 3.11's `sys.int_info`
/// `default_max_str_digits`); longer input raises `ValueError`.
pub const MAX_STR_DIGITS: usize = 4300;

impl Int {
    /// The value, as a `Small` whenever it fits.
    fn from_big(b: BigInt) -> Int {
        match b.to_i64() {
            Some(s) => Int::Small(s),
            None => Int::Big(Box::new(b)),
        }
    }

    /// The value as an `i64`, when it fits.
    pub fn to_i64(&self) -> Option<i64> {
        match self {
            Int::Small(v) => Some(*v),
            Int::Big(_) => None,
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
        // |t| >= 2^63: an integer, which `BigInt::from_f64` converts exactly.
        BigInt::from_f64(t).map(Int::from_big)
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
        let mut big: Option<BigInt> = None;
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
                    None => big = Some(BigInt::from(small) * 10u32 + d),
                },
                Some(m) => {
                    *m *= 10u32;
                    *m += d;
                }
            }
        }
        if digits == 0 || after_underscore {
            return None;
        }
        Some(match big {
            None if negative => Int::Small(-small),
            None => Int::Small(small),
            Some(m) if negative => Int::from_big(-m),
            Some(m) => Int::from_big(m),
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
            Int::Big(b) => {
                let f = magnitude_to_f64(b.magnitude())?;
                Some(if b.is_negative() { -f } else { f })
            }
        }
    }

    /// `self / d` for a positive int `d`: Python's true division of two ints, which is
    /// correctly rounded (not `float(self) / d`, which rounds twice). `None` where Python
    /// raises `OverflowError`.
    pub fn div_to_f64(&self, d: u32) -> Option<f64> {
        assert!(d > 0, "division by zero");
        let (negative, magnitude) = match self {
            Int::Small(v) => (*v < 0, BigUint::from(v.unsigned_abs())),
            Int::Big(b) => (b.is_negative(), b.magnitude().clone()),
        };
        let bits = magnitude.bits();
        let f = if bits <= 53 {
            // Both operands are exact floats, and IEEE division rounds correctly.
            magnitude_to_f64(&magnitude)? / f64::from(d)
        } else {
            // Scale up so the integer quotient keeps at least 55 bits (d < 2^32): two more
            // than a float's 53, so its lowest bit lies below the rounding bit. Setting that
            // bit when the division leaves a remainder (round to odd) makes the one
            // correctly rounded conversion of the quotient round the exact value.
            let shift = (55 + 32u64).saturating_sub(bits);
            let scaled = magnitude << shift;
            let mut q = &scaled / d;
            if !(&scaled % d).is_zero() {
                q.set_bit(0, true);
            }
            // Exact: the quotient is at least 2^54 and shift at most 33, so the result is
            // a normal float and the power of two is exact.
            magnitude_to_f64(&q)? * 2f64.powi(-(shift as i32))
        };
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
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => Int::from(i128::from(*a) - i128::from(*b)),
            (Int::Small(a), Int::Big(b)) => Int::from_big(*a - &**b),
            (Int::Big(a), Int::Small(b)) => Int::from_big(&**a - *b),
            (Int::Big(a), Int::Big(b)) => Int::from_big(&**a - &**b),
        }
    }
}

impl Int {
    /// `int(digits, base)` of bare digits (no sign, prefix or underscore), exact at any
    /// length. `None` for an empty text or a digit outside `base`.
    pub fn parse_radix(digits: &str, base: u32) -> Option<Int> {
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
            return None;
        }
        BigInt::parse_bytes(digits.as_bytes(), base).map(Int::from_big)
    }

    /// `self + other`, exact.
    pub fn add(&self, other: &Int) -> Int {
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => Int::from(i128::from(*a) + i128::from(*b)),
            _ => Int::from_big(self.to_big() + other.to_big()),
        }
    }

    /// `self * other`, exact.
    pub fn mul(&self, other: &Int) -> Int {
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => Int::from(i128::from(*a) * i128::from(*b)),
            _ => Int::from_big(self.to_big() * other.to_big()),
        }
    }

    /// `-self`, exact.
    pub fn neg(&self) -> Int {
        Int::Small(0).sub(self)
    }

    fn to_big(&self) -> BigInt {
        match self {
            Int::Small(v) => BigInt::from(*v),
            Int::Big(b) => (**b).clone(),
        }
    }

    /// The number of decimal digits `str(self)` prints, without the sign. Python refuses
    /// to print more than [`MAX_STR_DIGITS`] (`ValueError`), in an f-string or `json.dumps`.
    pub fn decimal_digits(&self) -> usize {
        match self {
            Int::Small(v) => v
                .unsigned_abs()
                .checked_ilog10()
                .map_or(1, |d| d as usize + 1),
            Int::Big(b) => b.magnitude().to_str_radix(10).len(),
        }
    }

    /// Whether Python can print it: at most [`MAX_STR_DIGITS`] digits.
    pub fn printable(&self) -> bool {
        match self {
            Int::Small(_) => true,
            // Fewer bits than 4300 digits need can be printed without counting.
            Int::Big(b) if b.bits() < 14_000 => true,
            Int::Big(_) => self.decimal_digits() <= MAX_STR_DIGITS,
        }
    }
}

/// `m` as a float, rounded to nearest with ties to even as Python's `int.__float__` does;
/// `None` where it rounds to 2^1024 or beyond, where Python raises `OverflowError`.
///
/// Not `num-bigint`'s own `to_f64`, which means to round the same way but, in 0.5.1,
/// looks at only the lowest bit of each limb below its top 64 bits when the top limb is
/// not full: it rounds `2**128 + 2**75 + 2` down to `2.0**128`, where Python rounds up.
fn magnitude_to_f64(m: &BigUint) -> Option<f64> {
    let bits = m.bits();
    if bits <= 64 {
        // `as` rounds to nearest, ties to even.
        return Some(m.to_u64()? as f64);
    }
    // At least 2^1024.
    if bits > 1024 {
        return None;
    }
    // The top 64 bits, with the lowest of them set when any bit below is (round to odd):
    // `as` keeps 53 and rounds on the rest, so it rounds the whole value correctly.
    let shift = bits - 64;
    let top = (m >> shift).to_u64()?;
    let below = m.trailing_zeros().is_some_and(|z| z < shift);
    // Exact but for overflow: a power of two no larger than 2^960.
    let f = (top | u64::from(below)) as f64 * 2f64.powi(shift as i32);
    f.is_finite().then_some(f)
}

impl Ord for Int {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Int::Small(a), Int::Small(b)) => a.cmp(b),
            // A big value lies beyond every small one, on its own side of zero.
            (Int::Big(a), Int::Small(_)) => {
                if a.is_negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (Int::Small(_), Int::Big(_)) => other.cmp(self).reverse(),
            (Int::Big(a), Int::Big(b)) => a.cmp(b),
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
            Int::Big(b) => write!(f, "{b}"),
        }
    }
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
    fn float_of_a_big_int_rounds_on_every_bit() {
        // float(2**100 + 2**47): halfway between two floats, it rounds to the even one,
        // 2.0**100. One more or one less, far below the top 64 bits, decides the way.
        let two_100 = 2f64.powi(100);
        let ulp = 2f64.powi(48);
        assert_eq!(
            int("1267650600228229542234191560704").to_f64(),
            Some(two_100)
        );
        assert_eq!(
            int("1267650600228229542234191560705").to_f64(),
            Some(two_100 + ulp)
        );
        assert_eq!(
            int("-1267650600228229542234191560705").to_f64(),
            Some(-(two_100 + ulp))
        );
        assert_eq!(
            int("1267650600228229542234191560703").to_f64(),
            Some(two_100)
        );
        // float(2**100 + 3 * 2**47): halfway again, and here the even float is above.
        assert_eq!(
            int("1267650600228229823709168271360").to_f64(),
            Some(two_100 + 2.0 * ulp)
        );
        // float(2**128 + 2**75 + 2) rounds up: the set bit is in the lowest limb but is
        // not its lowest bit (num-bigint 0.5.1's own to_f64 rounds this one down).
        let two_128 = 2f64.powi(128);
        assert_eq!(
            int("340282366920938501242306470388929921024").to_f64(),
            Some(two_128)
        );
        assert_eq!(
            int("340282366920938501242306470388929921026").to_f64(),
            Some(two_128 + 2f64.powi(76))
        );
    }

    #[test]
    fn true_division_rounds_once_at_every_size() {
        // 3 * (2**54 + 2) / 3 lies halfway between two floats and rounds to the even one;
        // one more tips it up. float(n) / 3 gives 1.8014398509481988e+16 for all three.
        assert_eq!(
            int("54043195528445958").div_to_f64(3),
            Some(18_014_398_509_481_984.0)
        );
        assert_eq!(
            int("54043195528445959").div_to_f64(3),
            Some(18_014_398_509_481_988.0)
        );
        assert_eq!(
            int("54043195528445957").div_to_f64(3),
            Some(18_014_398_509_481_984.0)
        );
        // (10**300 + 1) / 7, a quotient far wider than a float, of either sign.
        let big = int(&format!("1{}1", "0".repeat(299)));
        assert_eq!(big.div_to_f64(7), Some(1.428_571_428_571_428_6e299));
        assert_eq!(
            Int::Small(0).sub(&big).div_to_f64(7),
            Some(-1.428_571_428_571_428_6e299)
        );
        // (2**1025 - 2**971) / 2 rounds to 2**1024 and raises OverflowError; one less
        // gives the largest float.
        let two_1024 = Int::from_f64(2f64.powi(1023))
            .unwrap()
            .sub(&Int::from_f64(-(2f64.powi(1023))).unwrap());
        let two_1025 = two_1024.sub(&Int::Small(0).sub(&two_1024));
        let edge = two_1025.sub(&Int::from_f64(2f64.powi(971)).unwrap());
        assert_eq!(edge.div_to_f64(2), None);
        assert_eq!(edge.sub(&Int::Small(1)).div_to_f64(2), Some(f64::MAX));
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
