//! The HTTP/2 parser on a conversation: client bytes, `\n~~~~\n`, server
//! bytes. A client stream starting with the preface gets a parser that
//! expects it, anything else one joined mid-connection. The driver checks
//! that re-cutting every feed changes no event, that buffering, open
//! streams and HPACK tables stay within the caps, and calls `close`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::http2_input(data);
});
