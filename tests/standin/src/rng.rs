//! A tiny deterministic generator (SplitMix64), so data depends only on the
//! seed and never on a crate's version.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A random version-4 UUID.
    pub fn uuid(&mut self) -> u128 {
        let raw = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        (raw & !(0xf000_u128 << 64) & !(0xc000_u128 << 48))
            | (0x4000_u128 << 64)
            | (0x8000_u128 << 48)
    }
}

/// The SplitMix64 finaliser: a good 64-bit mixing function.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Per-row randomness for one field: rows store one `u64` and derive every
/// optional detail from it, which keeps rows small.
pub fn pick(bits: u64, salt: u64) -> u64 {
    mix(bits ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A bijection on u32 (each step is invertible), used for unique-looking ids.
pub fn scramble32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// The inverse of `scramble32`.
pub fn unscramble32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(inverse(0x846c_a68b));
    x ^= (x >> 15) ^ (x >> 30);
    x = x.wrapping_mul(inverse(0x7feb_352d));
    x ^ (x >> 16)
}

/// The multiplicative inverse of an odd number modulo 2^32 (Newton's method).
const fn inverse(a: u32) -> u32 {
    let mut x = a;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// A version-4 UUID derived from another one and a salt: the ids of nested
/// values (prices, entitlements) are stable and, in practice, unique.
pub fn derive_uuid(base: u128, salt: u64) -> u128 {
    let k = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let hi = mix((base >> 64) as u64 ^ mix(base as u64 ^ k));
    let lo = mix(hi ^ k ^ (base as u64).rotate_left(17));
    let raw = (u128::from(hi) << 64) | u128::from(lo);
    (raw & !(0xf000_u128 << 64) & !(0xc000_u128 << 48)) | (0x4000_u128 << 64) | (0x8000_u128 << 48)
}

pub fn format_uuid(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Parses a hyphenated (or bare) hex UUID, case-insensitively.
pub fn parse_uuid(text: &str) -> Option<u128> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let hyphens = text.len() - hex.len();
    if hex.len() != 32 || !(hyphens == 0 || hyphens == 4) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_round_trip() {
        let mut rng = Rng::new(7);
        for _ in 0..100 {
            let id = rng.uuid();
            let text = format_uuid(id);
            assert_eq!(text.len(), 36);
            assert_eq!(&text[14..15], "4");
            assert!("89ab".contains(&text[19..20]), "{text}");
            assert_eq!(parse_uuid(&text), Some(id));
            assert_eq!(parse_uuid(&text.to_uppercase()), Some(id));
        }
        assert_eq!(parse_uuid("not-a-uuid"), None);
    }

    #[test]
    fn scramble_is_injective_on_a_range() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            assert!(seen.insert(scramble32(i)));
            assert_eq!(unscramble32(scramble32(i)), i);
        }
        assert_eq!(unscramble32(scramble32(u32::MAX)), u32::MAX);
    }
}
