//! Small helpers: timestamps, deterministic hashes and UIDs.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2025-06-01T00:00:00Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // d is in 1..=31 and m in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(now_secs())
}

/// FNV-1a, 64 bit, over several byte strings (each terminated by 0xff so
/// that `("ab","c")` and `("a","bc")` differ).
pub(crate) fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // A final avalanche (splitmix64) so nearby inputs give unrelated outputs.
    splitmix(h)
}

pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A version-4-shaped UUID derived deterministically from `seed`.
pub(crate) fn uuid_from(seed: u64) -> String {
    let a = splitmix(seed);
    let b = splitmix(a ^ 0x5555_5555_5555_5555);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// `len` characters from the alphabet Kubernetes uses for generated name
/// suffixes (`bcdfghjklmnpqrstvwxz2456789`).
pub(crate) fn name_suffix(seed: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = splitmix(seed);
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        // The modulus keeps the index below ALPHABET.len(), so it fits usize.
        let idx = usize::try_from(x % ALPHABET.len() as u64).unwrap_or(0);
        out.push(char::from(ALPHABET[idx]));
        x = splitmix(x);
    }
    out
}

/// 64 lowercase hex digits derived from `seed` (image digests, container IDs).
pub(crate) fn hex64(seed: u64) -> String {
    let mut x = seed;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        x = splitmix(x);
        out.push_str(&format!("{x:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_748_736_000), "2025-06-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn uuids_look_right() {
        let u = uuid_from(42);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid_from(1), uuid_from(2));
        assert_eq!(name_suffix(7, 5).len(), 5);
        assert_eq!(hex64(1).len(), 64);
    }
}
