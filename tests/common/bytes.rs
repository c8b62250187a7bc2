//! Deterministic test payloads.

/// `len` pseudo-random bytes (fixed seed, so failures reproduce) that start
/// with 0x00 0xff: no HTTP method, TLS record or HTTP/2 preface begins that
/// way, so a detector cannot mistake them for a known protocol.
pub fn opaque_garbage(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = vec![0x00, 0xff];
    while out.len() < len.max(2) {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push((state >> 33) as u8);
    }
    out.truncate(len.max(2));
    out
}
