//! Identifiers: ULID-style message ids (time-ordered, 26 characters of Crockford base32) and
//! room ids (random for groups, derived for direct and order rooms so that creating them twice
//! finds the same room).

use aws_lc_rs::digest;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source works");
    b
}

/// Whether `s` has the shape of a message id: 26 characters of Crockford base32 (upper case).
pub fn is_message_id(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| CROCKFORD.contains(&b))
}

/// Lower-case hex digits of the bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base32(bytes: &[u8], chars: usize) -> String {
    let mut bits: u128 = 0;
    let mut nbits = 0u32;
    let mut out = String::with_capacity(chars);
    for &b in bytes {
        bits = (bits << 8) | b as u128;
        nbits += 8;
        while nbits >= 5 && out.len() < chars {
            nbits -= 5;
            out.push(CROCKFORD[((bits >> nbits) & 31) as usize] as char);
        }
        bits &= (1u128 << nbits) - 1;
    }
    if out.len() < chars && nbits > 0 {
        out.push(CROCKFORD[((bits << (5 - nbits)) & 31) as usize] as char);
    }
    out
}

/// A ULID: 48 bits of milliseconds then 80 random bits.
pub fn ulid(now_ms: u64) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&now_ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random_bytes::<10>());
    // 128 bits -> 26 chars: the first char carries the top 3 bits.
    let n = u128::from_be_bytes(b);
    (0..26).rev().map(|i| CROCKFORD[((n >> (i * 5)) & 31) as usize] as char).collect()
}

fn hash_id(prefix: &str, parts: &[&str]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(&[0]);
    }
    format!("{prefix}{}", base32(ctx.finish().as_ref(), 26).to_ascii_lowercase())
}

/// The one direct room of two users, whatever the order they are given in.
pub fn direct_room_id(a: &str, b: &str) -> String {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    hash_id("dm_", &[x, y])
}

/// The one room bound to an order.
pub fn order_room_id(order_id: &str) -> String {
    hash_id("or_", &[order_id])
}

pub fn group_room_id(now_ms: u64) -> String {
    format!("gr_{}", ulid(now_ms).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_documented_shape() {
        let a = ulid(1_795_353_540_123);
        let b = ulid(1_795_353_540_124);
        assert_eq!(a.len(), 26);
        assert!(a < b, "time-ordered");
        assert_eq!(direct_room_id("alice", "bob"), direct_room_id("bob", "alice"));
        assert_ne!(direct_room_id("alice", "bob"), direct_room_id("alice", "bo"));
        assert_eq!(direct_room_id("a", "b").len(), 29);
        assert!(group_room_id(1).starts_with("gr_"));
    }
}
