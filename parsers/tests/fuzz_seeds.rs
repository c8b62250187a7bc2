//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`) through the
//! same drivers the cargo-fuzz targets call, so every `cargo test` is a tiny
//! fuzz run and a crash input committed as a seed stays fixed.
//!
//! Seed names carry expectations for the hand-written captures:
//! `detect/<protocol>-*` must be detected as that protocol (`unknown-*` as
//! nothing), and `http1/*`, `http2/*`, `mongodb/*` must parse without error and
//! `hpack/*` decode without error. Inputs the fuzzer found
//! go in as `regress-*`: they only have to keep the invariants.

use std::fs;
use std::path::{Path, PathBuf};

use periscope_parsers::event::{Direction, Exchange, Protocol, Timestamp};
use periscope_parsers::hpack::Decoder;
use periscope_parsers::{
    detect, fuzzing, Detection, Http1Parser, Http2Parser, MongoParser, ProtocolParser, Status,
};

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable seed folder").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, fs::read(&p).expect("readable seed"))
        })
        .collect()
}

#[test]
fn every_seed_folder_is_a_known_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    for entry in fs::read_dir(root).expect("fuzz/seeds exists") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            ["detect", "http1", "http2", "hpack", "mongodb", "dynamodb"].contains(&name.as_str()),
            "seeds for unknown target {name}"
        );
    }
}

#[test]
fn detect_seeds() {
    for (name, data) in seeds("detect") {
        fuzzing::detect_input(&data);
        if name.starts_with("regress-") {
            continue;
        }
        let want = Protocol::ALL
            .into_iter()
            .find(|p| name.starts_with(&format!("{}-", p.as_str())))
            .unwrap_or_else(|| panic!("{name}: name it <protocol>-..."));
        let got = detect(Direction::ClientToServer, &data);
        let expected = match want {
            Protocol::Unknown => Detection::Unknown,
            p => Detection::Protocol(p),
        };
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn http1_seeds() {
    for (name, data) in seeds("http1") {
        fuzzing::http1_input(&data);
        fuzzing::detect_input(&data);
        if name.starts_with("regress-") {
            continue;
        }
        // A hand-written capture: client then server, whole, parses cleanly.
        let (client, server) = fuzzing::split_streams(&data);
        let mut parser = Http1Parser::new();
        let mut out: Vec<Exchange> = Vec::new();
        let c = parser.feed(Direction::ClientToServer, client, Timestamp(1), &mut out);
        let s = parser.feed(Direction::ServerToClient, server, Timestamp(2), &mut out);
        parser.end_of_stream(Direction::ServerToClient, Timestamp(3), &mut out);
        assert!(
            matches!(c, Status::Ok | Status::Done),
            "{name}: client side {c:?}"
        );
        assert!(
            matches!(s, Status::Ok | Status::Done),
            "{name}: server side {s:?}"
        );
        assert!(!out.is_empty(), "{name}: no exchange");
        assert!(parser.pending() <= 1, "{name}: unanswered requests");
    }
}

#[test]
fn mongodb_seeds() {
    for (name, data) in seeds("mongodb") {
        fuzzing::mongodb_input(&data);
        if name.starts_with("regress-") {
            continue;
        }
        // A real capture: client then server, whole, parses cleanly. (Not
        // every request got its reply: pymongo closes right after sending
        // `endSessions`.)
        let (client, server) = fuzzing::split_streams(&data);
        let mut parser = MongoParser::new();
        let mut out: Vec<Exchange> = Vec::new();
        let c = parser.feed(Direction::ClientToServer, client, Timestamp(1), &mut out);
        let s = parser.feed(Direction::ServerToClient, server, Timestamp(2), &mut out);
        assert_eq!(c, Status::Ok, "{name}: client side");
        assert_eq!(s, Status::Ok, "{name}: server side");
        assert!(!out.is_empty(), "{name}: no exchange");
        assert!(parser.pending() <= 1, "{name}: unanswered requests");
    }
}

#[test]
fn http2_seeds() {
    for (name, data) in seeds("http2") {
        fuzzing::http2_input(&data);
        fuzzing::detect_input(&data);
        if name.starts_with("regress-") {
            continue;
        }
        // A real capture or a sample: client then server, whole, parses
        // cleanly and every stream is answered.
        let (client, server) = fuzzing::split_streams(&data);
        let mut parser = if client.starts_with(b"PRI ") {
            Http2Parser::new()
        } else {
            Http2Parser::mid_stream()
        };
        let mut out: Vec<Exchange> = Vec::new();
        let c = parser.feed(Direction::ClientToServer, client, Timestamp(1), &mut out);
        let s = parser.feed(Direction::ServerToClient, server, Timestamp(2), &mut out);
        assert_eq!(c, Status::Ok, "{name}: client side");
        assert_eq!(s, Status::Ok, "{name}: server side");
        assert!(!out.is_empty(), "{name}: no exchange");
    }
}

#[test]
fn hpack_seeds() {
    for (name, data) in seeds("hpack") {
        fuzzing::hpack_input(&data);
        if name.starts_with("regress-") {
            continue;
        }
        let mut rest = data.get(1..).unwrap_or_default();
        let mut decoder = Decoder::new();
        loop {
            let (block, next) = fuzzing::split_streams(rest);
            let info = decoder.decode(block, |_| {});
            assert!(info.is_ok_and(|i| i.unresolved == 0), "{name}: {info:?}");
            if block.len() == rest.len() {
                break;
            }
            rest = next;
        }
    }
}

/// Recorded boto3 request/response bodies (moto and dynalite) and a few
/// hand-broken ones: each replays through the driver; the recorded ones
/// also read to their end without a JSON issue.
#[test]
fn dynamodb_seeds() {
    use periscope_parsers::dynamodb::DynamoRefiner;
    for (name, data) in seeds("dynamodb") {
        fuzzing::dynamodb_input(&data);
        if !name.starts_with("recorded-") {
            continue;
        }
        let (request, response) = fuzzing::split_streams(&data);
        let call = DynamoRefiner::request(b"DynamoDB_20120810.GetItem", request, false).response(
            200,
            std::iter::empty(),
            response,
            false,
        );
        assert_eq!(call.request_json, None, "{name}");
        assert_eq!(call.response_json, None, "{name}");
    }
}
