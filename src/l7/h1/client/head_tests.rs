//! Request heads as written, response heads and framings as read.
use super::*;
use http::HeaderValue;

fn parse(wire: &[u8], method: Method) -> Result<(Parsed, Vec<u8>), HeadError> {
    let mut buf = BytesMut::from(wire);
    let parsed = parse_response(&mut buf, &method, None)?;
    Ok((parsed, buf.to_vec()))
}

fn head(wire: &[u8], method: Method) -> (ResponseHead, Vec<u8>) {
    match parse(wire, method).expect("valid head") {
        (Parsed::Head(head), rest) => (head, rest),
        (other, _) => panic!("not a complete head: {other:?}"),
    }
}

#[test]
fn a_request_head_has_origin_form_and_our_framing() {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("example.com"));
    headers.append("x-a", HeaderValue::from_static("1"));
    // The client's own framing fields never go out: only ours.
    headers.insert("content-length", HeaderValue::from_static("5, 5"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    let mut dst = Vec::new();
    encode_request(
        &Method::POST,
        "/p?q=1",
        &headers,
        RequestFraming::Length(1234),
        &mut dst,
    );
    assert_eq!(
        dst,
        b"POST /p?q=1 HTTP/1.1\r\nhost: example.com\r\nx-a: 1\r\ncontent-length: 1234\r\n\r\n"
    );
    dst.clear();
    encode_request(
        &Method::PUT,
        "/",
        &HeaderMap::new(),
        RequestFraming::Chunked,
        &mut dst,
    );
    assert_eq!(dst, b"PUT / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n");
}

#[test]
fn request_framing_follows_the_headers_then_the_body() {
    let exact = |n| SizeHint::with_exact(n);
    let none = HeaderMap::new();
    let mut with_length = HeaderMap::new();
    with_length.insert(CONTENT_LENGTH, HeaderValue::from_static("7"));
    let mut repeated = HeaderMap::new();
    repeated.insert(CONTENT_LENGTH, HeaderValue::from_static("5, 5"));
    let cases = [
        (Method::GET, &none, exact(0), true, RequestFraming::None),
        (
            Method::POST,
            &none,
            exact(0),
            true,
            RequestFraming::Length(0),
        ),
        (
            Method::POST,
            &with_length,
            SizeHint::default(),
            false,
            RequestFraming::Length(7),
        ),
        (
            Method::POST,
            &none,
            exact(9),
            false,
            RequestFraming::Length(9),
        ),
        (
            Method::POST,
            &repeated,
            SizeHint::default(),
            false,
            RequestFraming::Length(5),
        ),
        (
            Method::POST,
            &none,
            SizeHint::default(),
            false,
            RequestFraming::Chunked,
        ),
    ];
    for (method, headers, hint, ended, expected) in cases {
        assert_eq!(
            request_framing(&method, headers, &hint, ended),
            expected,
            "{method}"
        );
    }
}

#[test]
fn a_response_head_is_split_off_and_its_body_stays() {
    let wire = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nX-Two: a\r\nX-Two: b\r\n\r\nok\n";
    for split in 1..wire.len() - 3 {
        assert!(matches!(
            parse(&wire[..split], Method::GET),
            Ok((Parsed::Partial, _))
        ));
    }
    let (head, rest) = head(wire, Method::GET);
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.framing, ResponseFraming::Length(3));
    assert!(head.keep_alive);
    assert_eq!(head.headers["server"], "nginx");
    let twos: Vec<_> = head.headers.get_all("x-two").iter().collect();
    assert_eq!(twos, ["a", "b"]);
    assert_eq!(rest, b"ok\n");
}

#[test]
fn framing_follows_rfc_9112_section_6_3() {
    let cases: [(&[u8], Method, ResponseFraming, bool); 9] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            Method::HEAD,
            ResponseFraming::Empty,
            true,
        ),
        (
            b"HTTP/1.1 204 No Content\r\n\r\n",
            Method::GET,
            ResponseFraming::Empty,
            true,
        ),
        (
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
            Method::GET,
            ResponseFraming::Empty,
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            Method::GET,
            ResponseFraming::Chunked,
            true,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
            Method::GET,
            ResponseFraming::Chunked,
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            Method::GET,
            ResponseFraming::UntilClose,
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\n\r\n",
            Method::GET,
            ResponseFraming::UntilClose,
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            Method::GET,
            ResponseFraming::Empty,
            false,
        ),
        (
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
            Method::GET,
            ResponseFraming::Length(2),
            true,
        ),
    ];
    for (wire, method, framing, keep_alive) in cases {
        let (head, _) = head(wire, method);
        let text = String::from_utf8_lossy(wire);
        assert_eq!(
            (head.framing, head.keep_alive),
            (framing, keep_alive),
            "{text}"
        );
    }
    let (old, _) = head(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", Method::GET);
    assert!(!old.keep_alive, "HTTP/1.0 closes by default");
}

#[test]
fn interim_responses_are_skipped() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"[..],
    );
    assert!(matches!(
        parse_response(&mut buf, &Method::POST, None),
        Ok(Parsed::Interim)
    ));
    match parse_response(&mut buf, &Method::POST, None) {
        Ok(Parsed::Head(head)) => assert_eq!(head.status, StatusCode::CREATED),
        other => panic!("{other:?}"),
    }
    assert!(buf.is_empty());
}

#[test]
fn malformed_and_hostile_heads_are_errors() {
    for wire in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
    ] {
        let text = String::from_utf8_lossy(wire);
        assert!(
            matches!(parse(wire, Method::GET), Err(HeadError::Malformed(_))),
            "{text}"
        );
    }
    let (same, _) = head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
        Method::GET,
    );
    assert_eq!(same.framing, ResponseFraming::Length(2));
    let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
    while endless.len() <= MAX_HEAD_BYTES {
        endless.extend_from_slice(b"x-pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n");
    }
    assert!(
        parse(&endless, Method::GET).is_err(),
        "too long or too many fields"
    );
}

#[test]
fn an_asked_for_101_ends_the_exchange_and_keeps_what_follows() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"[..],
    );
    let asked = HeaderValue::from_static("WebSocket");
    match parse_response(&mut buf, &Method::GET, Some(&asked)) {
        Ok(Parsed::Head(head)) => {
            assert_eq!(head.status, StatusCode::SWITCHING_PROTOCOLS);
            assert_eq!(head.framing, ResponseFraming::Empty);
            assert!(!head.keep_alive, "a switched connection is never pooled");
            assert_eq!(head.headers["upgrade"], "websocket");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(&buf[..], b"\x81\x02hi", "the new protocol's bytes stay");
}

#[test]
fn a_101_naming_another_protocol_or_none_is_malformed() {
    let asked = HeaderValue::from_static("websocket");
    for wire in [
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"[..],
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
    ] {
        let mut buf = BytesMut::from(wire);
        assert!(
            matches!(
                parse_response(&mut buf, &Method::GET, Some(&asked)),
                Err(HeadError::Malformed(_))
            ),
            "{}",
            String::from_utf8_lossy(wire)
        );
    }
}
