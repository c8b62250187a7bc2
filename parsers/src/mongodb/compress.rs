//! OP_COMPRESSED payloads: noop, snappy (raw block format), zlib and zstd.
//!
//! The declared `uncompressedSize` is checked against the buffering cap by
//! the caller before anything here runs, and every decoder's output is cut
//! at that size plus one byte: a stream that inflates further is malformed,
//! never a reason to keep allocating. All decoders are pure Rust (snap,
//! flate2 on miniz_oxide, ruzstd), so the crate stays C-free and fuzzable.

use std::io::Read;

use super::event::Compressor;
use crate::ErrorReason;

/// Decompresses `data` into `out` (cleared first), which must then hold
/// exactly `size` bytes.
pub fn decompress(
    compressor: Compressor,
    data: &[u8],
    size: usize,
    out: &mut Vec<u8>,
) -> Result<(), ErrorReason> {
    out.clear();
    match compressor {
        Compressor::Noop => out.extend_from_slice(data),
        Compressor::Snappy => {
            // The raw format states its length up front: check it before
            // allocating the output.
            let declared = snap::raw::decompress_len(data).map_err(|_| ErrorReason::Malformed)?;
            if declared != size {
                return Err(ErrorReason::Malformed);
            }
            out.resize(size, 0);
            let n = snap::raw::Decoder::new()
                .decompress(data, out)
                .map_err(|_| ErrorReason::Malformed)?;
            out.truncate(n);
        }
        Compressor::Zlib => {
            let decoder = flate2::read::ZlibDecoder::new(data);
            bounded_read(decoder, size, out)?;
        }
        Compressor::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|_| ErrorReason::Malformed)?;
            bounded_read(decoder, size, out)?;
        }
    }
    if out.len() == size {
        Ok(())
    } else {
        Err(ErrorReason::Malformed)
    }
}

/// Reads at most `size + 1` bytes: one byte past the declared size is
/// enough to know the stream lied.
fn bounded_read(reader: impl Read, size: usize, out: &mut Vec<u8>) -> Result<(), ErrorReason> {
    let limit = u64::try_from(size).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(out)
        .map(|_| ())
        .map_err(|_| ErrorReason::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"hello hello hello hello mongodb wire protocol";

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn each_compressor_round_trips() {
        let snappy = snap::raw::Encoder::new().compress_vec(TEXT).unwrap();
        let zstd =
            ruzstd::encoding::compress_to_vec(TEXT, ruzstd::encoding::CompressionLevel::Fastest);
        for (c, data) in [
            (Compressor::Noop, TEXT.to_vec()),
            (Compressor::Snappy, snappy),
            (Compressor::Zlib, zlib(TEXT)),
            (Compressor::Zstd, zstd),
        ] {
            let mut out = Vec::new();
            decompress(c, &data, TEXT.len(), &mut out).unwrap();
            assert_eq!(out, TEXT, "{c:?}");
        }
    }

    #[test]
    fn a_stream_longer_than_declared_is_malformed_and_bounded() {
        let big = vec![b'a'; 1 << 20];
        let mut out = Vec::new();
        assert_eq!(
            decompress(Compressor::Zlib, &zlib(&big), 10, &mut out),
            Err(ErrorReason::Malformed)
        );
        assert!(out.len() <= 11);
        let snappy = snap::raw::Encoder::new().compress_vec(&big).unwrap();
        assert_eq!(
            decompress(Compressor::Snappy, &snappy, 10, &mut out),
            Err(ErrorReason::Malformed)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for c in Compressor::ALL {
            let mut out = Vec::new();
            assert_eq!(
                decompress(c, b"\xff\xfe\xfd", 100, &mut out),
                Err(ErrorReason::Malformed),
                "{c:?}"
            );
        }
    }
}
