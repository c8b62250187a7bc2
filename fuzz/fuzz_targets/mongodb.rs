//! The MongoDB parser on a conversation: client bytes, `\n~~~~\n`, server
//! bytes. The input's own hash picks the options (a small buffering cap half
//! of the time, to exercise oversize skipping) and how the streams are cut
//! and interleaved; the driver checks that re-cutting every feed changes no
//! event, that buffers, pending requests and remembered cursors stay within
//! their caps, and that kept strings are bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::mongodb_input(data);
});
