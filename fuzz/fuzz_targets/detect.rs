//! Protocol detection on every prefix of the input: never panics, never
//! flips its verdict. The checks live in `periscope_parsers::fuzzing` so that
//! `cargo test` replays the committed seeds through the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::detect_input(data);
});
