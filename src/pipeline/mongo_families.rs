//! MongoDB metric families: the OpenTelemetry database convention's
//! operation duration, and Periscope's own `periscope_mongodb_*` view
//! (everything Envoy's `mongo_proxy` reports, for OP_MSG too).
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

/// Advisory buckets of the OpenTelemetry database conventions.
pub const DB_DURATION_BUCKETS: [f64; 9] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];
const DOCUMENT_BUCKETS: [f64; 12] = [
    0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 10000.0,
];
const SIZE_BUCKETS: [f64; 10] = [
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

pub const DB_LABELS: [&str; 8] = [
    "listener",
    "cluster",
    "db_system_name",
    "db_operation_name",
    "db_collection_name",
    "db_namespace",
    "db_response_status_code",
    "error_type",
];

pub struct MongoFamilies {
    pub operation_duration: HistogramVec,
    pub reply_documents: HistogramVec,
    pub request_documents: HistogramVec,
    pub reply_size: HistogramVec,
    pub handshake_commands: IntCounterVec,
    pub messages: IntCounterVec,
    pub compressed_messages: IntCounterVec,
    pub cursors: IntCounterVec,
}

fn histogram(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid histogram definition")
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
}

impl MongoFamilies {
    pub fn new() -> MongoFamilies {
        let per_operation = ["listener", "db_operation_name", "db_collection_name"];
        MongoFamilies {
            operation_duration: histogram(
                "db_client_operation_duration_seconds",
                "Duration of database operations seen by Periscope, request to last reply.",
                &DB_DURATION_BUCKETS,
                &DB_LABELS,
            ),
            reply_documents: histogram(
                "periscope_mongodb_reply_documents",
                "Documents returned per MongoDB operation (cursor batches, OP_REPLY documents).",
                &DOCUMENT_BUCKETS,
                &per_operation,
            ),
            request_documents: histogram(
                "periscope_mongodb_request_documents",
                "Documents a MongoDB write sent (inserted documents, update and delete statements, \
                 bulkWrite operations), per operation that sent any.",
                &DOCUMENT_BUCKETS,
                &per_operation,
            ),
            reply_size: histogram(
                "periscope_mongodb_reply_size_bytes",
                "Size on the wire of the replies to one MongoDB operation.",
                &SIZE_BUCKETS,
                &per_operation,
            ),
            handshake_commands: counter(
                "periscope_mongodb_handshake_commands_total",
                "Handshake, heartbeat, auth and session commands (kept out of operation metrics).",
                &["listener", "command"],
            ),
            messages: counter(
                "periscope_mongodb_messages_total",
                "MongoDB wire messages by direction and opcode (after decompression).",
                &["listener", "direction", "op_code"],
            ),
            compressed_messages: counter(
                "periscope_mongodb_compressed_messages_total",
                "MongoDB wire messages that came in OP_COMPRESSED, by compressor.",
                &["listener", "direction", "compressor"],
            ),
            cursors: counter(
                "periscope_mongodb_cursors_total",
                "Cursor lifecycle events: opened by a reply, exhausted by getMore, killed.",
                &["listener", "event"],
            ),
        }
    }

    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 8] {
        [
            Box::new(self.operation_duration.clone()),
            Box::new(self.reply_documents.clone()),
            Box::new(self.request_documents.clone()),
            Box::new(self.reply_size.clone()),
            Box::new(self.handshake_commands.clone()),
            Box::new(self.messages.clone()),
            Box::new(self.compressed_messages.clone()),
            Box::new(self.cursors.clone()),
        ]
    }
}

impl Default for MongoFamilies {
    fn default() -> Self {
        MongoFamilies::new()
    }
}
