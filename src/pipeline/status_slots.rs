//! Bounded label values for `http.response.status_code`.
//!
//! Status codes come off the wire, so a hostile upstream could send every
//! number from 100 to 999. Registered codes (IANA) keep their own value; any
//! other code labels as `_OTHER`, and "no response" has a slot of its own.
//! The dense slot index lets handle tables be plain arrays.

/// IANA-registered status codes, sorted.
const KNOWN: [u16; 62] = [
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
    416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 510, 511,
];

const KNOWN_LABELS: [&str; 62] = [
    "100", "101", "102", "103", "200", "201", "202", "203", "204", "205", "206", "207", "208",
    "226", "300", "301", "302", "303", "304", "305", "307", "308", "400", "401", "402", "403",
    "404", "405", "406", "407", "408", "409", "410", "411", "412", "413", "414", "415", "416",
    "417", "418", "421", "422", "423", "424", "425", "426", "428", "429", "431", "451", "500",
    "501", "502", "503", "504", "505", "506", "507", "508", "510", "511",
];

/// Slot 0: no response; 1..=62: known codes; 63: `_OTHER`.
pub const SLOTS: usize = KNOWN.len() + 2;
const NO_RESPONSE: usize = 0;
/// `error_type` of an exchange cut short.
pub const INCOMPLETE: &str = "incomplete";
const OTHER: usize = SLOTS - 1;

pub fn slot(status: Option<u16>) -> usize {
    match status {
        None => NO_RESPONSE,
        Some(code) => KNOWN.binary_search(&code).map_or(OTHER, |i| i + 1),
    }
}

/// The `http_response_status_code` label of a slot.
pub fn status_label(slot: usize) -> &'static str {
    match slot {
        NO_RESPONSE => "",
        OTHER => "_OTHER",
        i => KNOWN_LABELS.get(i - 1).copied().unwrap_or("_OTHER"),
    }
}

/// The `error_type` label of a slot, per the OpenTelemetry HTTP server
/// conventions: the status code for 5xx, a fixed reason when no response
/// came, empty otherwise.
pub fn error_type_label(slot: usize) -> &'static str {
    match slot {
        NO_RESPONSE => INCOMPLETE,
        OTHER => "_OTHER",
        i => {
            let label = status_label(i);
            if label.starts_with('5') {
                label
            } else {
                ""
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_keep_their_value() {
        for code in KNOWN {
            assert_eq!(status_label(slot(Some(code))), code.to_string());
        }
    }

    #[test]
    fn unknown_codes_and_missing_responses_are_bounded() {
        assert_eq!(status_label(slot(Some(299))), "_OTHER");
        assert_eq!(status_label(slot(Some(999))), "_OTHER");
        assert_eq!(status_label(slot(None)), "");
        assert_eq!(error_type_label(slot(None)), "incomplete");
    }

    #[test]
    fn only_server_errors_are_error_types() {
        assert_eq!(error_type_label(slot(Some(503))), "503");
        assert_eq!(error_type_label(slot(Some(404))), "");
        assert_eq!(error_type_label(slot(Some(200))), "");
    }
}
