//! The HTTP/1 parser on a conversation: client bytes, `\n~~~~\n`, server
//! bytes. The input's own hash picks how the streams are cut into feeds and
//! interleaved; the driver checks that re-cutting every feed changes no
//! event, that buffering stays within the caps, and calls `close`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::http1_input(data);
});
