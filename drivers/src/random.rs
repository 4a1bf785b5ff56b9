//! Unpredictable 64-bit values for ids and WebSocket keys, from the standard library alone.

use std::hash::{BuildHasher, Hasher};

/// 64 bits nobody can guess ahead: std's randomly keyed SipHash (fresh keys per call) over the
/// time and the process id. Good for ids, tokens and WebSocket masks; not for key material.
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}
