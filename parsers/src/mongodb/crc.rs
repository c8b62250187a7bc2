//! CRC-32C (Castagnoli), for OP_MSG's optional trailing checksum.
//!
//! Table-driven and dependency-free: drivers rarely set `checksumPresent`,
//! so this is off the hot path, and a mismatch is only counted (the server
//! is the one to reject a corrupt message; the sniffer just says it saw one).

const POLY: u32 = 0x82f6_3b78; // reflected Castagnoli polynomial

const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Continues a CRC-32C over `bytes`; start from 0.
pub fn update(crc: u32, bytes: &[u8]) -> u32 {
    let mut crc = !crc;
    for &b in bytes {
        let index = usize::from((crc as u8) ^ b);
        crc = (crc >> 8) ^ TABLE.get(index).copied().unwrap_or(0);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // RFC 3720 (iSCSI) appendix B.4 and the usual check value.
        assert_eq!(update(0, b"123456789"), 0xe306_9283);
        assert_eq!(update(0, &[0u8; 32]), 0x8a91_36aa);
        assert_eq!(update(update(0, b"1234"), b"56789"), 0xe306_9283);
    }
}
