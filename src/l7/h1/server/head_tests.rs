//! Request heads as read, response heads as written.
use super::*;
use http::HeaderValue;

fn parse(wire: &[u8]) -> Result<Option<(RequestHead, Vec<u8>)>, RequestError> {
    let mut buf = BytesMut::from(wire);
    Ok(parse_request(&mut buf)?.map(|head| (head, buf.to_vec())))
}

fn head(wire: &[u8]) -> (RequestHead, Vec<u8>) {
    parse(wire).expect("valid").expect("whole")
}

#[test]
fn a_request_head_is_split_off_whatever_the_split_and_its_body_stays() {
    let wire = b"POST /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\nX-Two: 1\r\nX-Two: 2\r\n\r\nbody";
    for split in 1..wire.len() - 4 {
        assert!(
            parse(&wire[..split]).expect("partial is fine").is_none(),
            "split {split}"
        );
    }
    let (head, rest) = head(wire);
    assert_eq!(head.parts.method, Method::POST);
    assert_eq!(head.parts.uri, "/a/b?c=d");
    assert_eq!(head.parts.version, Version::HTTP_11);
    assert_eq!(head.parts.headers["host"], "example.com");
    assert_eq!(head.parts.headers.get_all("x-two").iter().count(), 2);
    assert_eq!(head.framing, RequestFraming::Length(4));
    assert!(head.keep_alive && !head.expects_continue);
    assert_eq!(rest, b"body");
}

#[test]
fn keep_alive_and_expect_follow_the_version() {
    assert!(
        !head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .0
            .keep_alive
    );
    assert!(!head(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
    assert!(
        head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .0
            .keep_alive
    );
    let (expecting, _) =
        head(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(expecting.expects_continue);
    assert!(
        !expecting.parts.headers.contains_key(EXPECT),
        "answered by us, not forwarded"
    );
}

#[test]
fn smuggling_shapes_and_bad_heads_are_refused() {
    for wire in [
        &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        assert!(
            matches!(parse(wire), Err(RequestError::Malformed(_))),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
    assert!(parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").is_err());
    assert!(parse(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
    let chunked = head(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").0;
    assert_eq!(chunked.framing, RequestFraming::Chunked);
}

#[test]
fn oversized_heads_are_431() {
    let mut long = b"GET / HTTP/1.1\r\n".to_vec();
    while long.len() <= MAX_HEAD_BYTES {
        long.extend_from_slice(
            b"x-pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n",
        );
    }
    assert_eq!(
        parse(&long).err(),
        Some(RequestError::TooLarge),
        "never whole, too long"
    );
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("x-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(parse(&many).err(), Some(RequestError::TooLarge));
    assert_eq!(
        RequestError::TooLarge.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

fn response(
    status: u16,
    fields: &[(&'static str, &'static str)],
    request: (&Method, Version),
    size: Option<u64>,
    close: bool,
) -> (String, ResponseFraming) {
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(*name, HeaderValue::from_static(value));
    }
    let mut out = Vec::new();
    let status = StatusCode::from_u16(status).expect("status");
    let framing = encode_response(status, &headers, request, size, close, &mut out);
    (String::from_utf8(out).expect("ascii"), framing)
}

#[test]
fn response_heads_carry_the_framing_the_body_needs() {
    let get11 = (&Method::GET, Version::HTTP_11);
    let (text, framing) = response(200, &[("content-length", "3")], get11, Some(3), false);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 3\r\ndate: "),
        "{text}"
    );
    assert!(text.ends_with(" GMT\r\n\r\n"), "{text}");
    assert_eq!(framing, ResponseFraming::Length(3));
    let (text, framing) = response(200, &[], get11, Some(9), false);
    assert!(text.contains("content-length: 9\r\n"), "{text}");
    assert_eq!(framing, ResponseFraming::Length(9));
    let (text, framing) = response(200, &[("transfer-encoding", "chunked")], get11, None, false);
    assert_eq!(
        text.matches("transfer-encoding: chunked\r\n").count(),
        1,
        "{text}"
    );
    assert_eq!(framing, ResponseFraming::Chunked);
    let (text, framing) = response(200, &[], (&Method::GET, Version::HTTP_10), None, false);
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert_eq!(framing, ResponseFraming::UntilClose);
    let (text, _) = response(
        200,
        &[("content-length", "2")],
        (&Method::GET, Version::HTTP_10),
        Some(2),
        false,
    );
    assert!(text.contains("connection: keep-alive\r\n"), "{text}");
    let (text, framing) = response(
        200,
        &[("content-length", "50")],
        (&Method::HEAD, Version::HTTP_11),
        None,
        false,
    );
    assert!(text.contains("content-length: 50\r\n"), "{text}");
    assert_eq!(framing, ResponseFraming::NoBody);
    let (text, framing) = response(204, &[("date", "x")], get11, Some(0), true);
    assert_eq!(
        text,
        "HTTP/1.1 204 No Content\r\ndate: x\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(framing, ResponseFraming::NoBody);
}

#[test]
fn a_refusal_is_a_closing_empty_answer() {
    let mut out = Vec::new();
    encode_refusal(&RequestError::Malformed("x"), &mut out);
    let text = String::from_utf8(out).expect("ascii");
    assert!(
        text.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"),
        "{text}"
    );
    assert!(text.ends_with("connection: close\r\n\r\n"), "{text}");
}
