//! The HPACK decoder on arbitrary header blocks: a first byte choosing
//! the SETTINGS limit, then blocks separated by `\n~~~~\n`. Must not
//! panic, must keep the table and fields within the caps, and must decode
//! the same blocks the same way twice.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::hpack_input(data);
});
