//! The decoder against RFC 7541 Appendix C, against an independent
//! encoder (the `fluke-hpack` crate), on lost state, and on hostile blocks.

use super::*;
use crate::fuzzing::Rng;

type Headers = Vec<(String, String)>;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn decode(d: &mut Decoder, block: &[u8]) -> Result<Headers, DecodeError> {
    let mut out = Vec::new();
    d.decode(block, |f| {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let name = if f.unresolved {
            "?".to_owned()
        } else {
            text(f.name)
        };
        out.push((name, text(f.value)));
    })?;
    Ok(out)
}

fn h(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn c2_literal_representations() {
    let mut d = Decoder::new();
    let got = decode(
        &mut d,
        &hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
    );
    assert_eq!(got.unwrap(), h(&[("custom-key", "custom-header")]));
    assert_eq!((d.table_len(), d.table_size()), (1, 55));

    let mut d = Decoder::new();
    let got = decode(&mut d, &hex("040c 2f73 616d 706c 652f 7061 7468"));
    assert_eq!(got.unwrap(), h(&[(":path", "/sample/path")]));
    assert_eq!(d.table_len(), 0);

    let mut d = Decoder::new();
    let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let mut never = false;
    d.decode(&block, |f| never = f.never_indexed).unwrap();
    assert!(never);
    assert_eq!(d.table_len(), 0);

    let mut d = Decoder::new();
    assert_eq!(decode(&mut d, &[0x82]).unwrap(), h(&[(":method", "GET")]));
}

/// C.3 (plain) and C.4 (Huffman): three requests on one connection.
#[test]
fn c3_c4_requests_with_and_without_huffman() {
    let blocks = [
        [
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ],
        [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ],
    ];
    let base = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    let want = [
        h(&base),
        h(&[
            base[0],
            base[1],
            base[2],
            base[3],
            ("cache-control", "no-cache"),
        ]),
        h(&[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ]),
    ];
    let sizes = [57, 110, 164];
    for series in blocks {
        let mut d = Decoder::new();
        for ((block, want), size) in series.iter().zip(&want).zip(sizes) {
            assert_eq!(&decode(&mut d, &hex(block)).unwrap(), want, "{block}");
            assert_eq!(d.table_size(), size);
        }
        assert_eq!(d.unresolved(), 0);
    }
}

/// C.5 (plain) and C.6 (Huffman): three responses with a 256-byte table,
/// so entries get evicted.
#[test]
fn c5_c6_responses_with_eviction() {
    let blocks = [
        [
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
        ],
        [
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ],
    ];
    let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    let loc = "https://www.example.com";
    let want = [
        h(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", loc),
        ]),
        h(&[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", date1),
            ("location", loc),
        ]),
        h(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", loc),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ]),
    ];
    let sizes = [222, 222, 215];
    for series in blocks {
        let mut d = Decoder::new();
        d.size_update(256).unwrap();
        for ((block, want), size) in series.iter().zip(&want).zip(sizes) {
            assert_eq!(&decode(&mut d, &hex(block)).unwrap(), want, "{block}");
            assert_eq!(d.table_size(), size);
        }
        assert_eq!(d.table_len(), 3);
    }
}

fn random_headers(rng: &mut Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
    const NAMES: [&str; 10] = [
        ":method",
        ":path",
        ":authority",
        "content-type",
        "user-agent",
        "x-request-id",
        "grpc-timeout",
        "cookie",
        "x-custom",
        "accept",
    ];
    (0..1 + rng.below(12))
        .map(|_| {
            let name = match rng.below(4) {
                0 => format!("x-{}", rng.below(50)).into_bytes(),
                _ => {
                    let i = rng.below(NAMES.len());
                    NAMES[i].as_bytes().to_vec()
                }
            };
            let long = rng.below(8) == 0;
            let len = rng.below(if long { 300 } else { 20 });
            let value = (0..len)
                .map(|_| b"abcxyz0123-_/ ;="[rng.below(16)])
                .collect();
            (name, value)
        })
        .collect()
}

#[test]
fn agrees_with_an_independent_encoder() {
    let mut rng = Rng::new(7);
    for conn in 0..50 {
        let mut enc = fluke_hpack::Encoder::new();
        let mut dec = Decoder::new();
        // Half the connections use a small table, so entries are evicted.
        let small = conn % 2 == 0;
        if small {
            enc.set_max_table_size(256);
        }
        for i in 0..40 {
            let list = random_headers(&mut rng);
            let mut block = if small && i == 0 {
                vec![0x3f, 0xe1, 0x01]
            } else {
                Vec::new()
            };
            block.extend(enc.encode(list.iter().map(|(n, v)| (&n[..], &v[..]))));
            let mut got = Vec::new();
            dec.decode(&block, |f| {
                assert!(!f.unresolved);
                got.push((f.name.to_vec(), f.value.to_vec()));
            })
            .unwrap();
            assert_eq!(got, list, "connection {conn} block {i}");
        }
        assert!(dec.table_size() <= if small { 256 } else { DEFAULT_TABLE_SIZE });
    }
}

#[test]
fn lost_state_yields_placeholders_and_keeps_decoding() {
    // The peer's encoder filled its table before we started watching.
    let mut enc = fluke_hpack::Encoder::new();
    let early: [(&[u8], &[u8]); 2] = [(b"x-trace", b"abc"), (b"x-tenant", b"blue")];
    enc.encode(early);
    let later: [(&[u8], &[u8]); 5] = [
        (b":method", b"POST"),
        (b"x-trace", b"abc"),    // indexed: entry we never saw
        (b"x-new", b"1"),        // literal, inserted into both tables
        (b"x-tenant", b"green"), // literal value with an unknown name index
        (b"x-new", b"1"),        // indexed: the entry we did see
    ];
    let block = enc.encode(later);
    let mut d = Decoder::mid_stream();
    let got = decode(&mut d, &block).unwrap();
    assert_eq!(
        got,
        h(&[
            (":method", "POST"),
            ("?", ""),
            ("x-new", "1"),
            ("?", ""),
            ("x-new", "1")
        ])
    );
    assert_eq!(d.unresolved(), 2);
    assert!(d.degraded());
    // Entries stay aligned: a later reference to our own entry still works.
    let again: [(&[u8], &[u8]); 1] = [(b"x-new", b"1")];
    assert_eq!(
        decode(&mut d, &enc.encode(again)).unwrap(),
        h(&[("x-new", "1")])
    );
}

#[test]
fn hostile_blocks() {
    let mut d = Decoder::new();
    // Index 0.
    assert_eq!(decode(&mut d, &[0x80]), Err(DecodeError::Malformed));
    // Integer overflow in an index.
    assert_eq!(
        decode(&mut d, &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        Err(DecodeError::Malformed)
    );
    // A string running past the block.
    assert_eq!(
        decode(&mut d, &[0x40, 0x7f, 0x10, b'a']),
        Err(DecodeError::Malformed)
    );
    // A size update above SETTINGS (4096 by default): protocol violation.
    assert_eq!(
        decode(&mut d, &[0x3f, 0xe2, 0x1f]),
        Err(DecodeError::Malformed)
    );
    // Allowed by SETTINGS but over our cap: clamped, marked degraded.
    let mut d = Decoder::new();
    d.set_settings_limit(1 << 20);
    decode(&mut d, &[0x3f, 0xe1, 0xff, 0x3f]).unwrap();
    assert!(d.degraded());
    assert_eq!(d.table_max_size(), MAX_TABLE_SIZE);
    // Huffman garbage loses that field only.
    let mut d = Decoder::new();
    let mut block = vec![0x82, 0x40, 0x81, 0x8e, 0x81, 0xff];
    block.extend_from_slice(&[0x84]);
    let got = decode(&mut d, &block).unwrap();
    assert_eq!(
        got.first().unwrap(),
        &(":method".to_owned(), "GET".to_owned())
    );
    assert_eq!(got.get(1).unwrap().0, "?");
    assert_eq!(got.get(2).unwrap(), &(":path".to_owned(), "/".to_owned()));
    assert_eq!(
        d.table_len(),
        1,
        "the undecodable entry still takes its slot"
    );
    // Decoded list over the cap: 4 KiB entry referenced many times.
    let mut d = Decoder::new();
    let mut block = vec![0x40, 0x01, b'a', 0x7f, 0xa1, 0x1e];
    block.extend(std::iter::repeat_n(b'v', 4000));
    block.extend(std::iter::repeat_n(0xbe, 20));
    assert_eq!(decode(&mut d, &block), Err(DecodeError::TooLarge));
}

#[test]
fn random_blocks_never_panic_and_stay_bounded() {
    let mut rng = Rng::new(99);
    let mut d = Decoder::mid_stream();
    for _ in 0..5000 {
        let len = rng.below(64);
        let block: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let _ = d.decode(&block, |_| {});
        assert!(d.table_size() <= MAX_TABLE_SIZE);
    }
}
