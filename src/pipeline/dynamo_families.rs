//! DynamoDB metric families. Operation durations go to the database
//! convention's `db_client_operation_duration_seconds` (shared with MongoDB,
//! `db_system_name="aws.dynamodb"`); the rest is Periscope's own view, the
//! one Envoy's `dynamo` filter gives plus what it misses (unprocessed items,
//! throttles by table, unreadable bodies).
use prometheus::{CounterVec, HistogramOpts, HistogramVec, IntCounterVec, Opts};

/// Items named per table by one batch or transaction call (DynamoDB caps
/// BatchGetItem at 100 keys, BatchWriteItem at 25, transactions at 100).
const BATCH_ITEM_BUCKETS: [f64; 9] = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 500.0];

pub const PER_TABLE: [&str; 3] = ["listener", "db_operation_name", "db_collection_name"];

pub struct DynamoFamilies {
    pub consumed_capacity: CounterVec,
    pub partition_capacity: CounterVec,
    pub throttles: IntCounterVec,
    pub unprocessed: IntCounterVec,
    pub batch_items: HistogramVec,
    pub body_issues: IntCounterVec,
}

impl DynamoFamilies {
    pub fn new() -> DynamoFamilies {
        let int_counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            CounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        let capacity_labels = [
            "listener",
            "db_operation_name",
            "db_collection_name",
            "capacity_type",
        ];
        DynamoFamilies {
            consumed_capacity: counter(
                "periscope_dynamodb_consumed_capacity_units_total",
                "Capacity units DynamoDB reported consumed (ReturnConsumedCapacity), by table, operation and read/write.",
                &capacity_labels,
            ),
            partition_capacity: counter(
                "periscope_dynamodb_partition_capacity_units_total",
                "Capacity units by partition, where DynamoDB reports partition ids (the last 7 characters, as Envoy labels them; capped).",
                &["listener", "db_collection_name", "partition"],
            ),
            throttles: int_counter(
                "periscope_dynamodb_throttled_requests_total",
                "Calls DynamoDB throttled (ProvisionedThroughputExceeded, Throttling, RequestLimitExceeded), by table.",
                &PER_TABLE,
            ),
            unprocessed: int_counter(
                "periscope_dynamodb_unprocessed_items_total",
                "Items (BatchWriteItem) and keys (BatchGetItem) DynamoDB left unprocessed, by operation.",
                &["listener", "db_operation_name", "kind"],
            ),
            batch_items: HistogramVec::new(
                HistogramOpts::new(
                    "periscope_dynamodb_batch_items",
                    "Items one batch or transaction call names per table.",
                )
                .buckets(BATCH_ITEM_BUCKETS.to_vec()),
                &PER_TABLE,
            )
            .expect("valid histogram definition"),
            body_issues: int_counter(
                "periscope_dynamodb_body_issues_total",
                "DynamoDB bodies not read to their end (truncated at the prefix cap, unreadable JSON with its reason, encoded) and CRC-32 mismatches; the calls still got their HTTP telemetry.",
                &["listener", "direction", "reason"],
            ),
        }
    }

    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 6] {
        [
            Box::new(self.consumed_capacity.clone()),
            Box::new(self.partition_capacity.clone()),
            Box::new(self.throttles.clone()),
            Box::new(self.unprocessed.clone()),
            Box::new(self.batch_items.clone()),
            Box::new(self.body_issues.clone()),
        ]
    }
}

impl Default for DynamoFamilies {
    fn default() -> Self {
        DynamoFamilies::new()
    }
}
