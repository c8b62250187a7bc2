//! Exact MongoDB telemetry checks: every series Periscope exports for a
//! listener, compared with the driver's own account of what it did.
//!
//!     let account = Workload::crud().run(px.addr("edge"));
//!     telemetry_matches(&px, "edge", &account);
//!
//! Each check first waits for the listener's totals (operations, handshake
//! commands, messages) to reach the account's, then compares every series
//! on one scrape: fast, and a late extra count still fails the totals.
use super::metrics::Scrape;
use super::mongo_workload::Account;
use super::periscope::Periscope;

/// Operations counted (the duration histogram's `_count`).
pub const OPERATIONS: &str = "db_client_operation_duration_seconds_count";
pub const HANDSHAKES: &str = "periscope_mongodb_handshake_commands_total";
pub const MESSAGES: &str = "periscope_mongodb_messages_total";
pub const COMPRESSED: &str = "periscope_mongodb_compressed_messages_total";
pub const CURSORS: &str = "periscope_mongodb_cursors_total";
pub const REPLY_DOCUMENTS_SUM: &str = "periscope_mongodb_reply_documents_sum";
pub const REPLY_DOCUMENTS_COUNT: &str = "periscope_mongodb_reply_documents_count";
pub const REQUEST_DOCUMENTS_SUM: &str = "periscope_mongodb_request_documents_sum";
pub const REQUEST_DOCUMENTS_COUNT: &str = "periscope_mongodb_request_documents_count";
pub const REPLY_SIZE_COUNT: &str = "periscope_mongodb_reply_size_bytes_count";
pub const REPLY_SIZE_SUM: &str = "periscope_mongodb_reply_size_bytes_sum";

/// Commands that must never show up as operations.
pub const HANDSHAKE_COMMANDS: [&str; 8] = [
    "hello",
    "isMaster",
    "ismaster",
    "ping",
    "buildInfo",
    "saslStart",
    "saslContinue",
    "endSessions",
];

/// Waits until the listener's totals equal the account's (and stay), then
/// returns one scrape to compare every series on.
pub fn settled(px: &Periscope, listener: &str, account: &Account) -> Scrape {
    let at = [("listener", listener)];
    px.wait_metric(OPERATIONS, &at, account.total_operations() as f64);
    px.wait_metric(HANDSHAKES, &at, account.handshake_commands() as f64);
    let messages = 2 * (account.total_operations() + account.handshake_commands());
    px.wait_metric(MESSAGES, &at, messages as f64);
    px.scrape()
}

/// Every group of the account is one operation series with exactly its
/// count, and the listener counts nothing else (no handshake, no extra).
pub fn operations_match(px: &Periscope, listener: &str, account: &Account) {
    let scrape = settled(px, listener, account);
    for op in &account.operations {
        let labels = [
            ("listener", listener),
            ("db_system_name", "mongodb"),
            ("db_operation_name", op.command.as_str()),
            ("db_collection_name", op.collection.as_str()),
            ("db_namespace", op.db.as_str()),
            ("db_response_status_code", op.status.as_str()),
            ("error_type", op.status.as_str()),
        ];
        scrape.assert_value(OPERATIONS, &labels, op.count as f64);
    }
    no_handshake_operations(px, listener);
}

/// No operation series for hello, isMaster, ping, endSessions, ...
pub fn no_handshake_operations(px: &Periscope, listener: &str) {
    let scrape = px.scrape();
    for command in HANDSHAKE_COMMANDS {
        let labels = [("listener", listener), ("db_operation_name", command)];
        assert!(
            scrape.matching(OPERATIONS, &labels).next().is_none(),
            "{command} counted as an operation\n{}",
            scrape.near_misses(OPERATIONS)
        );
    }
}

/// Documents returned (the histogram's `_sum`) and replies (`_count`) per
/// command and collection, one reply size observation per reply, and the
/// documents each write sent (one observation per write that sent any). The
/// bytes are compared when the traffic is uncompressed: the driver knows
/// only the inflated size, Periscope counts what crossed the wire.
pub fn replies_match(px: &Periscope, listener: &str, account: &Account) {
    let scrape = settled(px, listener, account);
    for ((command, collection), replies) in account.by_command_and_collection() {
        let labels = [
            ("listener", listener),
            ("db_operation_name", command.as_str()),
            ("db_collection_name", collection.as_str()),
        ];
        scrape.assert_value(REPLY_DOCUMENTS_SUM, &labels, replies.documents as f64);
        scrape.assert_value(REPLY_DOCUMENTS_COUNT, &labels, replies.count as f64);
        scrape.assert_value(REPLY_SIZE_COUNT, &labels, replies.count as f64);
        scrape.assert_value(REQUEST_DOCUMENTS_COUNT, &labels, replies.writes as f64);
        scrape.assert_value(
            REQUEST_DOCUMENTS_SUM,
            &labels,
            replies.sent_documents as f64,
        );
        if account.compressor.is_empty() {
            scrape.assert_value(REPLY_SIZE_SUM, &labels, replies.bytes as f64);
        }
    }
    let at = [("listener", listener)];
    let replies = account.total_operations() as f64;
    scrape.assert_value(REPLY_DOCUMENTS_COUNT, &at, replies);
    scrape.assert_value(REPLY_SIZE_COUNT, &at, replies);
}

/// Handshake-class commands: the total (one opening handshake per
/// connection, later heartbeats, endSessions, ping), and each command the
/// application itself sent exactly.
pub fn handshakes_match(px: &Periscope, listener: &str, account: &Account) {
    let scrape = settled(px, listener, account);
    for (command, n) in &account.handshake {
        let labels = [("listener", listener), ("command", command.as_str())];
        scrape.assert_value(HANDSHAKES, &labels, *n as f64);
    }
}

/// Opcodes after decompression. pymongo 4.20 sends everything as OP_MSG,
/// its connection handshakes included (no legacy OP_QUERY `ismaster` any
/// more), and every request gets exactly one reply.
pub fn opcodes_match(px: &Periscope, listener: &str, account: &Account) {
    let scrape = settled(px, listener, account);
    let messages = (account.total_operations() + account.handshake_commands()) as f64;
    for direction in ["request", "reply"] {
        let labels = [("listener", listener), ("direction", direction)];
        let op_msg = [labels[0], labels[1], ("op_code", "OP_MSG")];
        scrape.assert_value(MESSAGES, &op_msg, messages);
        scrape.assert_value(MESSAGES, &labels, messages);
    }
}

/// Cursor events: opened (a first batch with a live cursor id), exhausted
/// (a getMore whose reply closes the cursor), killed (killCursors).
pub fn cursors_match(px: &Periscope, listener: &str, account: &Account) {
    let scrape = settled(px, listener, account);
    for event in ["opened", "exhausted", "killed"] {
        let expected = account.cursors.get(event).copied().unwrap_or(0);
        let labels = [("listener", listener), ("event", event)];
        scrape.assert_value(CURSORS, &labels, expected as f64);
    }
}

/// Everything above, for one listener.
pub fn telemetry_matches(px: &Periscope, listener: &str, account: &Account) {
    operations_match(px, listener, account);
    replies_match(px, listener, account);
    handshakes_match(px, listener, account);
    opcodes_match(px, listener, account);
    cursors_match(px, listener, account);
}
