//! HPACK Huffman decoding (RFC 7541 §5.2, code table in Appendix B).
//!
//! Table-driven: the code tree (256 internal nodes) is turned once into a
//! machine that consumes a whole input byte per look-up (256 states × 256
//! bytes, 256 KiB, built on first use from a 4-bit machine), emitting up to
//! two symbols per byte with no branching per bit. A string whose
//! padding is longer than 7 bits, is not a prefix of EOS, or that contains
//! EOS is rejected (§5.2): the caller drops that one header, nothing more.

use std::sync::OnceLock;

/// Codes from RFC 7541 Appendix B, indexed by symbol (EOS, 256, is
/// 30 ones and is implied).
const CODES: [u32; 256] = [
    0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8,
    0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed,
    0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4,
    0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8,
    0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
    0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb,
    0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0,
    0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75,
    0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe,
    0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4,
    0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb,
    0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
    0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda,
    0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd,
    0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0,
    0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4,
    0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7,
    0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf,
    0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7,
    0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4,
    0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
    0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb,
    0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, 0x7ffffeb,
    0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
];

/// Bit lengths of [`CODES`].
const BITS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

const EOS_CODE: u32 = 0x3fff_ffff;
const EOS_BITS: u8 = 30;

/// One step of the machine: the state after four more bits, the symbol
/// completed on the way (if `EMIT`), and whether the bits were invalid.
#[derive(Clone, Copy, Default)]
struct Step {
    next: u8,
    sym: u8,
    flags: u8,
}

const EMIT: u8 = 1;
const FAIL: u8 = 2;

/// Per state and input byte, packed: next state (bits 0-7), first and
/// second symbol (8-15, 16-23), symbol count (24-25), failure (bit 26).
/// Indexed with `(state << 8 | byte) & 0xffff`: in bounds by construction.
struct Machine {
    bytes: Box<[u32; 65536]>,
    accept: [bool; 256],
}

const COUNT_SHIFT: u32 = 24;
const FAILED: u32 = 1 << 26;

/// A node of the code tree during construction: children are internal
/// node ids or leaves (symbol + 256 offset marker via `Child`).
#[derive(Clone, Copy)]
enum Child {
    None,
    Node(u16),
    Leaf(u16),
}

fn build() -> Machine {
    // Internal nodes of the tree; there are exactly 256 for 257 leaves.
    let mut tree: Vec<[Child; 2]> = vec![[Child::None; 2]];
    let codes = CODES
        .iter()
        .zip(BITS.iter())
        .map(|(&c, &b)| (c, b))
        .chain(std::iter::once((EOS_CODE, EOS_BITS)));
    for (sym, (code, bits)) in codes.enumerate() {
        let mut node = 0usize;
        for i in (0..bits).rev() {
            let bit = ((code >> i) & 1) as usize;
            let last = i == 0;
            let child = tree[node][bit];
            match child {
                Child::Node(n) if !last => node = usize::from(n),
                Child::None if last => tree[node][bit] = Child::Leaf(sym as u16),
                Child::None => {
                    tree.push([Child::None; 2]);
                    let n = tree.len() - 1;
                    tree[node][bit] = Child::Node(n as u16);
                    node = n;
                }
                _ => unreachable!("the HPACK code is prefix-free"),
            }
        }
    }
    debug_assert_eq!(tree.len(), 256);
    let mut accept = [false; 256];
    let mut node = 0usize;
    for _ in 0..8 {
        accept[node] = true;
        match tree[node][1] {
            Child::Node(n) => node = usize::from(n),
            _ => break,
        }
    }
    let mut steps = vec![Step::default(); 4096];
    for state in 0..tree.len() {
        for nibble in 0..16u8 {
            let mut node = state;
            let mut step = Step::default();
            for i in (0..4).rev() {
                let bit = usize::from((nibble >> i) & 1);
                match tree[node][bit] {
                    Child::Node(n) => node = usize::from(n),
                    Child::Leaf(256) | Child::None => {
                        step.flags |= FAIL;
                        break;
                    }
                    Child::Leaf(sym) => {
                        step.sym = sym as u8;
                        step.flags |= EMIT;
                        node = 0;
                    }
                }
            }
            step.next = node as u8;
            steps[state * 16 + usize::from(nibble)] = step;
        }
    }
    let mut bytes: Box<[u32; 65536]> = vec![0u32; 65536]
        .into_boxed_slice()
        .try_into()
        .unwrap_or_else(|_| unreachable!("65536 entries"));
    for state in 0..256usize {
        for byte in 0..256usize {
            let first = steps[state * 16 + (byte >> 4)];
            let second = steps[usize::from(first.next) * 16 + (byte & 0xf)];
            let mut entry = u32::from(second.next);
            let mut count = 0;
            for step in [first, second] {
                if step.flags & EMIT != 0 {
                    entry |= u32::from(step.sym) << (8 + 8 * count);
                    count += 1;
                }
                if step.flags & FAIL != 0 {
                    entry |= FAILED;
                }
            }
            bytes[(state << 8) | byte] = entry | (count << COUNT_SHIFT);
        }
    }
    Machine { bytes, accept }
}

fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(build)
}

/// The Huffman-coded string was invalid (EOS inside, or bad padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuffmanError;

/// Input bytes decoded per round into a stack buffer: at most two symbols
/// each, so their output (≤ 64 bytes) always fits the 64-byte buffer and
/// the masked writes below never need a bounds check. Small, because most
/// header strings are: clearing the buffer is a per-call cost.
const ROUND: usize = 32;

/// Appends the decoding of `input` to `out`. On error `out` holds a
/// partial decoding the caller should discard.
pub fn decode(input: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let m = machine();
    // Bound in a local: the loop's stores cannot then make the compiler
    // reload it from the static on every byte.
    let bytes: &[u32; 65536] = &m.bytes;
    // The shortest code is 5 bits: at most 8 symbols per 5 input bytes.
    out.reserve(input.len() / 5 * 8 + 8);
    let mut round = [0u8; 2 * ROUND];
    let mut state = 0usize;
    let mut failed = 0u32;
    for chunk in input.chunks(ROUND) {
        // Write both symbol slots every time and advance by the count.
        let mut pos = 0usize;
        for &byte in chunk {
            let entry = bytes[((state << 8) | usize::from(byte)) & 0xffff];
            failed |= entry;
            round[pos % (2 * ROUND)] = (entry >> 8) as u8;
            round[(pos + 1) % (2 * ROUND)] = (entry >> 16) as u8;
            pos += (entry >> COUNT_SHIFT & 3) as usize;
            state = (entry & 0xff) as usize;
        }
        out.extend_from_slice(round.get(..pos).unwrap_or_default());
    }
    // A failure anywhere poisons the result; checked once, off the hot loop.
    if failed & FAILED == 0 && m.accept[state & 0xff] {
        Ok(())
    } else {
        Err(HuffmanError)
    }
}

/// Encodes `input` (tests and benches build Huffman blocks with it).
pub fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let (mut acc, mut n) = (0u64, 0u32);
    for &b in input {
        let (code, bits) = (CODES[usize::from(b)], BITS[usize::from(b)]);
        acc = (acc << bits) | u64::from(code);
        n += u32::from(bits);
        while n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
        acc &= (1u64 << n) - 1;
    }
    if n > 0 {
        out.push(((acc << (8 - n)) | ((1u64 << (8 - n)) - 1)) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = Vec::new();
        decode(input, &mut out).map(|()| out)
    }

    #[test]
    fn rfc_7541_c4_strings() {
        // C.4.1: "www.example.com"
        let www = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(dec(&www).unwrap(), b"www.example.com");
        // C.4.2: "no-cache"
        assert_eq!(
            dec(&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]).unwrap(),
            b"no-cache"
        );
        assert_eq!(encode(b"www.example.com"), www);
    }

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(dec(&encode(&all)).unwrap(), all);
        for b in 0..=255u8 {
            assert_eq!(dec(&encode(&[b, b, b])).unwrap(), [b, b, b]);
        }
        assert_eq!(dec(&[]).unwrap(), b"");
        // Longer than one decoding round, and appended after what `out` held.
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut out = b"prefix".to_vec();
        decode(&encode(&long), &mut out).unwrap();
        assert_eq!(out.get(6..), Some(&long[..]));
    }

    #[test]
    fn padding_and_eos_violations_are_errors() {
        // A full byte of ones is padding longer than 7 bits.
        assert_eq!(dec(&[0xff]), Err(HuffmanError));
        // "0" is 00000; padding with zeros is not a prefix of EOS.
        assert_eq!(dec(&[0x00]), Err(HuffmanError));
        assert_eq!(dec(&[0x07]).unwrap(), b"0");
        // EOS itself (30 ones) then padding.
        assert_eq!(dec(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError));
        // "a" plus a whole extra byte of ones: 8+ bits of padding.
        let mut a = encode(b"a");
        a.push(0xff);
        assert_eq!(dec(&a), Err(HuffmanError));
    }
}
