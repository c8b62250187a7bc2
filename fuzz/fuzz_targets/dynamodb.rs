//! The DynamoDB refiner on a request body, `\n~~~~\n`, a response body:
//! the input's own hash picks the operation, status and prefix cap; the
//! driver checks that streaming the bodies in pieces changes nothing and
//! that the kept prefix stays within its cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    periscope_parsers::fuzzing::dynamodb_input(data);
});
