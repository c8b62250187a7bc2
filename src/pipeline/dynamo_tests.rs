//! DynamoDB recording: exact counts by operation, table and error.
use super::*;
use periscope_parsers::dynamodb::{CapacityUse, DynamoError, PartitionUse, TableUse};

fn scope(tables: usize) -> (Arc<Families>, DynamoScope) {
    let families = Arc::new(Families::new());
    let labels = Arc::new(DynamoLabels::new(&families, tables));
    let scope = DynamoScope::new(families.clone(), labels, "edge", "dynamo");
    (families, scope)
}

fn call(op: &'static str, tables: &[(&str, u32)], status: u16) -> DynamoCall {
    DynamoCall {
        operation: Some(op.to_owned()),
        operation_label: op,
        tables: tables
            .iter()
            .map(|(name, items)| TableUse {
                name: (*name).to_owned(),
                items: *items,
            })
            .collect(),
        status,
        ..DynamoCall::default()
    }
}

fn failed(op: &'static str, table: &str, error: &'static str) -> DynamoCall {
    DynamoCall {
        error: Some(DynamoError {
            type_label: error,
            type_name: error.to_owned(),
            message: None,
        }),
        ..call(op, &[(table, 0)], 400)
    }
}

fn count(families: &Families, op: &str, table: &str, error: &str) -> u64 {
    families
        .mongo
        .operation_duration
        .with_label_values(&["edge", "dynamo", "aws.dynamodb", op, table, "", "", error])
        .get_sample_count()
}

#[test]
fn calls_count_by_operation_table_and_error() {
    let (families, scope) = scope(10);
    for _ in 0..3 {
        scope.record(
            &call("PutItem", &[("Music", 0)], 200),
            Outcome::Complete,
            0.01,
        );
    }
    scope.record(
        &failed("PutItem", "Music", "ConditionalCheckFailedException"),
        Outcome::Complete,
        0.01,
    );
    scope.record(
        &failed("GetItem", "Music", "SomethingNew"),
        Outcome::Complete,
        0.01,
    );
    scope.record(
        &call("GetItem", &[("Music", 0)], 503),
        Outcome::Complete,
        0.01,
    );
    scope.record(
        &call("GetItem", &[("Music", 0)], 0),
        Outcome::Incomplete,
        0.01,
    );
    scope.record(&call("ListTables", &[], 200), Outcome::Complete, 0.01);
    assert_eq!(count(&families, "PutItem", "Music", ""), 3);
    assert_eq!(
        count(
            &families,
            "PutItem",
            "Music",
            "ConditionalCheckFailedException"
        ),
        1
    );
    assert_eq!(count(&families, "GetItem", "Music", "_OTHER"), 1);
    assert_eq!(count(&families, "GetItem", "Music", "503"), 1);
    assert_eq!(count(&families, "GetItem", "Music", "incomplete"), 1);
    assert_eq!(count(&families, "ListTables", "", ""), 1);
}

#[test]
fn batches_record_once_per_table_with_items() {
    let (families, scope) = scope(10);
    let mut batch = call("BatchWriteItem", &[("Music", 4), ("Accounts", 1)], 200);
    batch.unprocessed_items = 2;
    batch.unprocessed_present = true;
    scope.record(&batch, Outcome::Complete, 0.01);
    assert_eq!(count(&families, "BatchWriteItem", "Music", ""), 1);
    assert_eq!(count(&families, "BatchWriteItem", "Accounts", ""), 1);
    let items = families
        .dynamo
        .batch_items
        .with_label_values(&["edge", "BatchWriteItem", "Music"]);
    assert_eq!((items.get_sample_count(), items.get_sample_sum()), (1, 4.0));
    let unprocessed = |kind| {
        families
            .dynamo
            .unprocessed
            .with_label_values(&["edge", "BatchWriteItem", kind])
            .get()
    };
    assert_eq!((unprocessed("items"), unprocessed("keys")), (2, 0));
}

#[test]
fn capacity_splits_read_and_write_and_partitions() {
    let (families, scope) = scope(10);
    let mut get = call("GetItem", &[("Music", 0)], 200);
    get.consumed_capacity = vec![CapacityUse {
        table: Some("Music".to_owned()),
        capacity_units: Some(0.5),
        partitions: vec![PartitionUse {
            id: "partition-0001234".to_owned(),
            capacity_units: 0.5,
        }],
        ..CapacityUse::default()
    }];
    scope.record(&get, Outcome::Complete, 0.01);
    let mut transact = call("TransactWriteItems", &[("Music", 1)], 200);
    transact.consumed_capacity = vec![CapacityUse {
        table: Some("Music".to_owned()),
        capacity_units: Some(6.0),
        read_units: Some(2.0),
        write_units: Some(4.0),
        ..CapacityUse::default()
    }];
    scope.record(&transact, Outcome::Complete, 0.01);
    let units = |op, kind| {
        families
            .dynamo
            .consumed_capacity
            .with_label_values(&["edge", op, "Music", kind])
            .get()
    };
    assert_eq!(units("GetItem", "read"), 0.5);
    assert_eq!(units("GetItem", "write"), 0.0);
    assert_eq!(units("TransactWriteItems", "read"), 2.0);
    assert_eq!(units("TransactWriteItems", "write"), 4.0);
    let partition = families
        .dynamo
        .partition_capacity
        .with_label_values(&["edge", "Music", "0001234"])
        .get();
    assert_eq!(partition, 0.5);
}

#[test]
fn throttles_tables_past_the_cap_and_body_issues() {
    let (families, scope) = scope(1);
    scope.record(&call("GetItem", &[("A", 0)], 200), Outcome::Complete, 0.0);
    let mut throttled = failed("GetItem", "B", "ProvisionedThroughputExceededException");
    throttled.response_truncated = true;
    throttled.crc32_mismatch = true;
    throttled.request_json = Some(periscope_parsers::dynamodb::JsonIssue::Invalid(
        "bad_escape",
    ));
    scope.record(&throttled, Outcome::Complete, 0.0);
    assert_eq!(count(&families, "GetItem", "A", ""), 1);
    assert_eq!(
        count(
            &families,
            "GetItem",
            "_OTHER",
            "ProvisionedThroughputExceededException"
        ),
        1
    );
    let throttles = families
        .dynamo
        .throttles
        .with_label_values(&["edge", "GetItem", "_OTHER"])
        .get();
    assert_eq!(throttles, 1);
    let overflow = families
        .label_overflow
        .with_label_values(&["db_collection_name"])
        .get();
    assert_eq!(overflow, 1);
    let issue = |direction, reason| {
        families
            .dynamo
            .body_issues
            .with_label_values(&["edge", direction, reason])
            .get()
    };
    assert_eq!(issue("request", "bad_escape"), 1);
    assert_eq!(issue("response", "truncated"), 1);
    assert_eq!(issue("response", "crc32_mismatch"), 1);
}
