//! gRPC sample conversations: unary, server streaming, trailers-only
//! error, a message split across DATA frames, compressed messages.

use super::build::*;
use super::samples::{sample, Sample, GRPC_PATH};
use super::{C, S};
use crate::http2::wire::*;

fn ok_trailers(s: &mut Peer, stream: u32) -> Vec<u8> {
    s.headers(stream, END_STREAM, &[("grpc-status", "0")])
}

fn grpc_response(s: &mut Peer, stream: u32) -> Vec<u8> {
    s.headers(
        stream,
        0,
        &[(":status", "200"), ("content-type", "application/grpc")],
    )
}

fn grpc_request(c: &mut Peer, stream: u32, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut f = vec![
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "localhost:50051"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];
    f.extend_from_slice(extra);
    c.headers(stream, 0, &f)
}

pub fn grpc_samples() -> Vec<Sample> {
    let mut out = Vec::new();

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "grpc unary",
        vec![
            (C, cat(&[preface(), grpc_request(&mut c, 1, GRPC_PATH, &[("grpc-timeout", "5S")]), grpc_data(1, END_STREAM, &[(false, b"\x0a\x05world")])])),
            (S, cat(&[settings(&[]), grpc_response(&mut s, 1), grpc_data(1, 0, &[(false, b"\x0a\x0bHello world")]), ok_trailers(&mut s, 1)])),
        ],
        &["POST localhost:50051 /helloworld.Greeter/SayHello -> 200 body 12/18 complete t0..1 grpc helloworld.Greeter/SayHello OK msgs 1/1 compressed 0 timeout 5000ms \"\""],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "grpc server streaming",
        vec![
            (C, cat(&[preface(), grpc_request(&mut c, 1, "/helloworld.Greeter/SayHelloStream", &[]), grpc_data(1, END_STREAM, &[(false, b"n")])])),
            (S, cat(&[grpc_response(&mut s, 1), grpc_data(1, 0, &[(false, b"one")])])),
            (S, grpc_data(1, 0, &[(false, b"two"), (false, b"three")])),
            (S, ok_trailers(&mut s, 1)),
        ],
        &["POST localhost:50051 /helloworld.Greeter/SayHelloStream -> 200 body 6/26 complete t0..3 grpc helloworld.Greeter/SayHelloStream OK msgs 1/3 compressed 0 timeout - \"\""],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "grpc trailers-only error",
        vec![
            (C, cat(&[preface(), grpc_request(&mut c, 1, GRPC_PATH, &[]), grpc_data(1, END_STREAM, &[(false, b"bob")])])),
            (S, s.headers(1, END_STREAM, &[(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "5"), ("grpc-message", "user%20not%20found")])),
        ],
        &["POST localhost:50051 /helloworld.Greeter/SayHello -> 200 body 8/0 complete t0..1 grpc helloworld.Greeter/SayHello NOT_FOUND msgs 1/0 compressed 0 timeout - \"user not found\""],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let msg = crate::grpc::encode_message(false, &[7; 100]);
    out.push(sample(
        "grpc message split across data frames",
        vec![
            (C, cat(&[preface(), grpc_request(&mut c, 1, "/pkg.Svc/Upload", &[("grpc-timeout", "250m")]), data(1, 0, &msg[..3])])),
            (C, cat(&[data(1, 0, &msg[3..60]), data(1, 0, &msg[60..]), grpc_data(1, END_STREAM, &[(false, b"second")])])),
            (S, cat(&[grpc_response(&mut s, 1), grpc_data(1, 0, &[(false, b"done")]), ok_trailers(&mut s, 1)])),
        ],
        &["POST localhost:50051 /pkg.Svc/Upload -> 200 body 116/9 complete t0..2 grpc pkg.Svc/Upload OK msgs 2/1 compressed 0 timeout 250ms \"\""],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "grpc compressed messages",
        vec![
            (C, cat(&[preface(), grpc_request(&mut c, 1, GRPC_PATH, &[("grpc-encoding", "gzip")]), grpc_data(1, END_STREAM, &[(true, b"\x1f\x8b gz")])])),
            (S, cat(&[s.headers(1, 0, &[(":status", "200"), ("content-type", "application/grpc+proto"), ("grpc-encoding", "gzip")]), grpc_data(1, 0, &[(true, b"\x1f\x8b zz"), (false, b"plain")]), s.headers(1, END_STREAM, &[("grpc-status", "13"), ("grpc-message", "boom")])])),
        ],
        &["POST localhost:50051 /helloworld.Greeter/SayHello -> 200 body 10/20 complete t0..1 grpc helloworld.Greeter/SayHello INTERNAL msgs 1/2 compressed 2 timeout - \"boom\""],
    ));

    out.push(super::samples::lost_state());
    out
}
