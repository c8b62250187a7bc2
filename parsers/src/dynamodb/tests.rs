//! Refiner tests on realistic request/response pairs, each fed whole and
//! cut at every offset.

use super::*;
use crate::fuzzing::Rng;

const HEADERS: &[(&[u8], &[u8])] = &[
    (b"Content-Type", b"application/x-amz-json-1.0"),
    (
        b"x-amzn-RequestId",
        b"R9J5ABCDEF0123456789ABCDEF0123456789ABCDEF01234567",
    ),
];

struct Case {
    op: &'static str,
    request: &'static str,
    status: u16,
    response: &'static str,
}

const CASES: &[Case] = &[
    Case {
        op: "GetItem",
        request: r#"{"TableName": "Music", "Key": {"Artist": {"S": "No One You Know"}, "SongTitle": {"S": "Call Me Today"}}, "ConsistentRead": true, "ReturnConsumedCapacity": "TOTAL"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":{"CapacityUnits":1.0,"TableName":"Music"},"Item":{"AlbumTitle":{"S":"Songs About Life"},"Artist":{"S":"No One You Know"}}}"#,
    },
    Case {
        op: "PutItem",
        request: r#"{"TableName":"Music","Item":{"Artist":{"S":"A"},"Year":{"N":"2015"},"Tags":{"L":[{"S":"x"},{"M":{"k":{"BOOL":false}}}]}},"ConditionExpression":"attribute_not_exists(Artist)","ReturnConsumedCapacity":"INDEXES","ReturnItemCollectionMetrics":"SIZE"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":{"CapacityUnits":3.0,"GlobalSecondaryIndexes":{"ByYear":{"CapacityUnits":1.0},"ByTag":{"CapacityUnits":1.0}},"Table":{"CapacityUnits":1.0},"TableName":"Music"},"ItemCollectionMetrics":{"ItemCollectionKey":{"Artist":{"S":"A"}},"SizeEstimateRangeGB":[0.0,1.0]}}"#,
    },
    Case {
        op: "UpdateItem",
        request: r##"{"TableName":"Music","Key":{"Artist":{"S":"A"}},"UpdateExpression":"SET #n = :v","ExpressionAttributeNames":{"#n":"Plays"},"ExpressionAttributeValues":{":v":{"N":"1e3"}},"ConditionExpression":"Plays < :v"}"##,
        status: 400,
        response: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
    },
    Case {
        op: "DeleteItem",
        request: r#"{"TableName":"Missing","Key":{"id":{"S":"1"}}}"#,
        status: 400,
        response: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","Message":"Requested resource not found: Table: Missing not found"}"#,
    },
    Case {
        op: "Query",
        request: r#"{"TableName":"Orders","IndexName":"ByCustomer","KeyConditionExpression":"cid = :c","ExpressionAttributeValues":{":c":{"S":"c-1"}},"Limit":25,"Select":"ALL_PROJECTED_ATTRIBUTES","ScanIndexForward":false,"ExclusiveStartKey":{"id":{"S":"o-9"}},"ReturnConsumedCapacity":"TOTAL"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":{"CapacityUnits":0.5,"TableName":"Orders"},"Count":2,"Items":[{"id":{"S":"o-10"}},{"id":{"S":"o-11"}}],"LastEvaluatedKey":{"id":{"S":"o-11"}},"ScannedCount":2}"#,
    },
    Case {
        op: "Scan",
        request: r#"{"TableName":"Orders","Segment":1,"TotalSegments":4,"Limit":100,"ConsistentRead":false,"FilterExpression":"amount > :a","ExpressionAttributeValues":{":a":{"N":"10"}}}"#,
        status: 200,
        response: r#"{"Count":1,"Items":[{"id":{"S":"o-1"},"amount":{"N":"12.5"}}],"ScannedCount":37}"#,
    },
    Case {
        op: "BatchGetItem",
        request: r#"{"RequestItems":{"Music":{"Keys":[{"Artist":{"S":"A"}},{"Artist":{"S":"B"}},{"Artist":{"S":"C"}}],"ProjectionExpression":"Artist"},"Forum":{"ConsistentRead":true,"Keys":[{"Name":{"S":"DynamoDB"}}]}},"ReturnConsumedCapacity":"TOTAL"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":[{"CapacityUnits":1.5,"TableName":"Music"},{"CapacityUnits":0.5,"TableName":"Forum"}],"Responses":{"Music":[{"Artist":{"S":"A"}}],"Forum":[{"Name":{"S":"DynamoDB"}}]},"UnprocessedKeys":{"Music":{"Keys":[{"Artist":{"S":"B"}},{"Artist":{"S":"C"}}],"ProjectionExpression":"Artist"}}}"#,
    },
    Case {
        op: "BatchWriteItem",
        request: r#"{"RequestItems":{"Music":[{"PutRequest":{"Item":{"Artist":{"S":"A"}}}},{"PutRequest":{"Item":{"Artist":{"S":"B"}}}},{"DeleteRequest":{"Key":{"Artist":{"S":"C"}}}}],"Forum":[{"PutRequest":{"Item":{"Name":{"S":"x"}}}}]},"ReturnConsumedCapacity":"INDEXES","ReturnItemCollectionMetrics":"SIZE"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":[{"CapacityUnits":2.0,"Table":{"CapacityUnits":2.0},"TableName":"Music","LocalSecondaryIndexes":{"L1":{"CapacityUnits":0.5}}}],"ItemCollectionMetrics":{},"UnprocessedItems":{"Forum":[{"PutRequest":{"Item":{"Name":{"S":"x"}}}}]}}"#,
    },
    Case {
        op: "TransactWriteItems",
        request: r#"{"TransactItems":[{"ConditionCheck":{"TableName":"Accounts","Key":{"id":{"S":"a"}},"ConditionExpression":"attribute_exists(id)"}},{"Put":{"TableName":"Orders","Item":{"id":{"S":"o"}}}},{"Update":{"Key":{"id":{"S":"a"}},"TableName":"Accounts","UpdateExpression":"SET n = n + :one"}},{"Delete":{"TableName":"Carts","Key":{"id":{"S":"c"}}}}],"ClientRequestToken":"tok","ReturnConsumedCapacity":"TOTAL"}"#,
        status: 400,
        response: r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"},{"Code":"None"},{"Code":"None"}],"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None, None]"}"#,
    },
    Case {
        op: "TransactGetItems",
        request: r#"{"TransactItems":[{"Get":{"TableName":"Accounts","Key":{"id":{"S":"a"}}}},{"Get":{"Key":{"id":{"S":"o"}},"TableName":"Orders"}}],"ReturnConsumedCapacity":"TOTAL"}"#,
        status: 200,
        response: r#"{"ConsumedCapacity":[{"CapacityUnits":2.0,"ReadCapacityUnits":2.0,"TableName":"Accounts"},{"CapacityUnits":2.0,"ReadCapacityUnits":2.0,"TableName":"Orders"}],"Responses":[{"Item":{"id":{"S":"a"}}},{"Item":{"id":{"S":"o"}}}]}"#,
    },
    Case {
        op: "CreateTable",
        request: r#"{"TableName":"Music","AttributeDefinitions":[{"AttributeName":"Artist","AttributeType":"S"}],"KeySchema":[{"AttributeName":"Artist","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"#,
        status: 200,
        response: r#"{"TableDescription":{"TableName":"Music","TableStatus":"CREATING","ItemCount":0,"CreationDateTime":1.7e9}}"#,
    },
    Case {
        op: "ListTables",
        request: r#"{"Limit":10}"#,
        status: 200,
        response: r#"{"TableNames":["Music","Orders"],"LastEvaluatedTableName":"Orders"}"#,
    },
    Case {
        op: "DescribeTable",
        request: r#"{"TableName":"Orders"}"#,
        status: 400,
        response: r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"1 validation error detected: Value '\u0000' at 'tableName' failed"}"#,
    },
    Case {
        op: "PutItem",
        request: r#"{"TableName":"Hot","Item":{"id":{"S":"1"}}}"#,
        status: 400,
        response: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
    },
    Case {
        op: "ExecuteStatement",
        request: r#"{"Statement":"SELECT * FROM \"Music\" WHERE Artist = ?","Parameters":[{"S":"A"}]}"#,
        status: 400,
        response: r#"{"__type":"com.amazonaws.dynamodb.v20120810#BrandNewFailureException","message":"?"}"#,
    },
];

fn target(op: &str) -> Vec<u8> {
    format!("DynamoDB_20120810.{op}").into_bytes()
}

fn run(case: &Case, req_cut: usize, resp_cut: usize) -> DynamoCall {
    let req = case.request.as_bytes();
    let resp = case.response.as_bytes();
    let req_cut = req_cut.min(req.len());
    let resp_cut = resp_cut.min(resp.len());
    DynamoRefiner::request(&target(case.op), &req[..req_cut], req_cut < req.len()).response(
        case.status,
        HEADERS.iter().copied(),
        &resp[..resp_cut],
        resp_cut < resp.len(),
    )
}

fn whole(case: &Case) -> DynamoCall {
    run(case, usize::MAX, usize::MAX)
}

fn call(op: &str) -> DynamoCall {
    whole(CASES.iter().find(|c| c.op == op).unwrap())
}

fn names(c: &DynamoCall) -> Vec<(&str, u32)> {
    c.tables
        .iter()
        .map(|t| (t.name.as_str(), t.items))
        .collect()
}

#[test]
fn whole_bodies_parse_cleanly() {
    for case in CASES {
        let c = whole(case);
        assert_eq!(c.request_json, None, "{}", case.op);
        assert_eq!(c.response_json, None, "{}", case.op);
        assert!(!c.request_truncated && !c.response_truncated);
        assert_eq!(c.operation.as_deref(), Some(case.op));
        assert_eq!(c.operation_label, case.op);
        assert_eq!(c.status, case.status);
        assert!(c.request_id.as_deref().unwrap().starts_with("R9J5"));
    }
}

#[test]
fn single_item_operations() {
    let c = call("GetItem");
    assert_eq!(names(&c), [("Music", 0)]);
    assert_eq!(c.consistent_read, Some(true));
    assert_eq!(c.return_consumed_capacity.as_deref(), Some("TOTAL"));
    assert_eq!(c.consumed_capacity.len(), 1);
    assert_eq!(c.consumed_capacity[0].table.as_deref(), Some("Music"));
    assert_eq!(c.consumed_capacity[0].capacity_units, Some(1.0));
    assert!(c.error.is_none() && !c.is_error());
    assert_eq!(c.collection_name(), Some("Music"));

    let c = call("PutItem");
    let cap = &c.consumed_capacity[0];
    assert_eq!(cap.capacity_units, Some(3.0));
    assert_eq!(cap.gsi_units, Some(2.0));
    assert_eq!(cap.table_units, Some(1.0));
    assert_eq!(cap.lsi_units, None);
    assert!(c.item_collection_metrics_present);

    let c = call("UpdateItem");
    let e = c.error.as_ref().unwrap();
    assert_eq!(e.type_label, "ConditionalCheckFailedException");
    assert_eq!(e.type_name, "ConditionalCheckFailedException");
    assert_eq!(e.message.as_deref(), Some("The conditional request failed"));
    assert_eq!(
        c.error_type().as_deref(),
        Some("ConditionalCheckFailedException")
    );

    let c = call("DeleteItem");
    let e = c.error.as_ref().unwrap();
    assert_eq!(e.type_label, "ResourceNotFoundException");
    assert!(e.message.as_deref().unwrap().contains("Missing not found"));
}

#[test]
fn query_and_scan() {
    let c = call("Query");
    assert_eq!(names(&c), [("Orders", 0)]);
    assert_eq!(c.index_name.as_deref(), Some("ByCustomer"));
    assert_eq!(c.limit, Some(25));
    assert_eq!(c.select.as_deref(), Some("ALL_PROJECTED_ATTRIBUTES"));
    assert_eq!((c.count, c.scanned_count), (Some(2), Some(2)));
    assert_eq!(c.consumed_capacity[0].capacity_units, Some(0.5));

    let c = call("Scan");
    assert_eq!((c.segment, c.total_segments), (Some(1), Some(4)));
    assert_eq!(c.limit, Some(100));
    assert_eq!(c.consistent_read, Some(false));
    assert_eq!((c.count, c.scanned_count), (Some(1), Some(37)));
}

#[test]
fn batch_operations() {
    let c = call("BatchGetItem");
    assert_eq!(names(&c), [("Music", 3), ("Forum", 1)]);
    assert_eq!(c.collection_name(), None);
    assert_eq!(c.consumed_capacity.len(), 2);
    assert_eq!(c.consumed_capacity[1].table.as_deref(), Some("Forum"));
    assert_eq!(c.unprocessed_keys, 2);
    assert_eq!(c.unprocessed_items, 0);
    assert!(c.unprocessed_present);

    let c = call("BatchWriteItem");
    assert_eq!(names(&c), [("Music", 3), ("Forum", 1)]);
    assert_eq!(c.unprocessed_items, 1);
    assert_eq!(c.consumed_capacity[0].lsi_units, Some(0.5));
    assert_eq!(c.consumed_capacity[0].table_units, Some(2.0));
    assert!(c.item_collection_metrics_present);
}

#[test]
fn partitions_as_envoy_reads_them() {
    let c = DynamoRefiner::request(b"DynamoDB_20120810.GetItem", br#"{"TableName":"T"}"#, false)
        .response(
            200,
            [],
            br#"{"ConsumedCapacity":{"TableName":"T","CapacityUnits":1.5,"Partitions":{"partition-0001":0.5,"partition-0002":1,"bad":"x"}}}"#,
            false,
        );
    let parts = &c.consumed_capacity[0].partitions;
    assert_eq!(parts.len(), 2);
    assert_eq!(
        (parts[0].id.as_str(), parts[0].capacity_units),
        ("partition-0001", 0.5)
    );
    assert_eq!(parts[1].label(), "on-0002");
    assert_eq!(c.response_json, None);
}

#[test]
fn transactions() {
    let c = call("TransactWriteItems");
    assert_eq!(names(&c), [("Accounts", 2), ("Orders", 1), ("Carts", 1)]);
    let e = c.error.as_ref().unwrap();
    assert_eq!(e.type_label, "TransactionCanceledException");
    assert!(e
        .message
        .as_deref()
        .unwrap()
        .starts_with("Transaction cancelled"));

    let c = call("TransactGetItems");
    assert_eq!(names(&c), [("Accounts", 1), ("Orders", 1)]);
    assert_eq!(c.consumed_capacity.len(), 2);
    assert_eq!(c.consumed_capacity[0].read_units, Some(2.0));
}

#[test]
fn other_families_and_errors() {
    let c = call("CreateTable");
    assert_eq!(names(&c), [("Music", 0)]);
    let c = call("ListTables");
    assert!(c.tables.is_empty());
    assert_eq!(c.limit, Some(10));
    let c = call("DescribeTable");
    assert_eq!(c.error.as_ref().unwrap().type_label, "ValidationException");
    assert!(c
        .error
        .as_ref()
        .unwrap()
        .message
        .as_deref()
        .unwrap()
        .contains('\0'));
    let c = call("ExecuteStatement");
    assert_eq!(c.error.as_ref().unwrap().type_label, "_OTHER");
    assert_eq!(
        c.error.as_ref().unwrap().type_name,
        "BrandNewFailureException"
    );
    let hot = CASES
        .iter()
        .find(|c| c.request.contains("\"Hot\""))
        .unwrap();
    let c = whole(hot);
    assert!(is_throttle(c.error.as_ref().unwrap().type_label));
}

/// Every field of `part` is absent or equal to `full`'s; counts are lower
/// bounds; capacity entries are a prefix.
fn assert_consistent(part: &DynamoCall, full: &DynamoCall, what: &str) {
    assert_eq!(part.operation, full.operation, "{what}");
    assert_eq!(part.operation_label, full.operation_label, "{what}");
    assert!(part.tables.len() <= full.tables.len(), "{what}");
    for (p, f) in part.tables.iter().zip(&full.tables) {
        assert_eq!(p.name, f.name, "{what}");
        assert!(p.items <= f.items, "{what}");
    }
    fn sub<T: PartialEq + std::fmt::Debug>(p: &Option<T>, f: &Option<T>, what: &str) {
        assert!(p.is_none() || p == f, "{what}: {p:?} vs {f:?}");
    }
    sub(&part.index_name, &full.index_name, what);
    sub(&part.limit, &full.limit, what);
    sub(&part.select, &full.select, what);
    sub(&part.consistent_read, &full.consistent_read, what);
    sub(
        &part.return_consumed_capacity,
        &full.return_consumed_capacity,
        what,
    );
    sub(&part.segment, &full.segment, what);
    sub(&part.total_segments, &full.total_segments, what);
    sub(&part.count, &full.count, what);
    sub(&part.scanned_count, &full.scanned_count, what);
    assert_eq!(part.request_id, full.request_id, "{what}");
    assert!(
        full.consumed_capacity.starts_with(&part.consumed_capacity),
        "{what}"
    );
    assert!(part.unprocessed_items <= full.unprocessed_items, "{what}");
    assert!(part.unprocessed_keys <= full.unprocessed_keys, "{what}");
    assert!(
        !part.unprocessed_present || full.unprocessed_present,
        "{what}"
    );
    assert!(
        !part.item_collection_metrics_present || full.item_collection_metrics_present,
        "{what}"
    );
    if let Some(e) = &part.error {
        let f = full.error.as_ref().unwrap();
        assert_eq!(e.type_label, f.type_label, "{what}");
        sub(&e.message, &f.message, what);
    }
}

#[test]
fn every_truncation_keeps_what_came_before() {
    for case in CASES {
        let full = whole(case);
        for cut in 0..case.request.len() {
            let part = run(case, cut, usize::MAX);
            let what = format!("{} request cut at {cut}", case.op);
            assert!(part.request_truncated, "{what}");
            if cut > 0 {
                assert_eq!(part.request_json, Some(JsonIssue::EndedEarly), "{what}");
            }
            assert_consistent(&part, &full, &what);
        }
        for cut in 0..case.response.len() {
            let part = run(case, usize::MAX, cut);
            let what = format!("{} response cut at {cut}", case.op);
            assert!(part.response_truncated, "{what}");
            if cut > 0 {
                assert_eq!(part.response_json, Some(JsonIssue::EndedEarly), "{what}");
            }
            assert!(!part.crc32_checked, "{what}");
            assert_consistent(&part, &full, &what);
        }
    }
}

#[test]
fn truncated_batch_keeps_tables_and_partial_counts() {
    let case = CASES.iter().find(|c| c.op == "BatchWriteItem").unwrap();
    let cut = case.request.find("\"Forum\"").unwrap();
    let c = run(case, cut, usize::MAX);
    assert_eq!(names(&c), [("Music", 3)]);
    let cut = case.request.find("{\"DeleteRequest\"").unwrap();
    let c = run(case, cut, usize::MAX);
    assert_eq!(names(&c), [("Music", 2)]);
}

#[test]
fn crc32_verified_on_whole_bodies() {
    let body = br#"{"Count":0,"Items":[],"ScannedCount":0}"#;
    let good = crc32(body).to_string();
    let bad = crc32(body).wrapping_add(1).to_string();
    let refine = |crc: &str, truncated: bool| {
        let headers = [(&b"x-amz-crc32"[..], crc.as_bytes())];
        DynamoRefiner::request(b"DynamoDB_20120810.Scan", br#"{"TableName":"t"}"#, false)
            .response(200, headers, body, truncated)
    };
    let c = refine(&good, false);
    assert!(c.crc32_checked && !c.crc32_mismatch);
    assert_eq!(c.crc32, Some(crc32(body)));
    let c = refine(&bad, false);
    assert!(c.crc32_checked && c.crc32_mismatch);
    let c = refine(&bad, true);
    assert!(!c.crc32_checked && !c.crc32_mismatch);
    // Known value: CRC-32 of "123456789" is 0xCBF43926.
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

#[test]
fn streamed_body_prefix_checks_crc_past_the_cap() {
    let body = br#"{"Count":3,"Items":[{"a":{"S":"1"}},{"a":{"S":"2"}},{"a":{"S":"3"}}],"ScannedCount":9}"#;
    let mut prefix = BodyPrefix::new(20);
    for chunk in body.chunks(7) {
        prefix.push(chunk);
    }
    assert!(prefix.truncated());
    assert_eq!(prefix.bytes(), &body[..20]);
    assert_eq!(prefix.total_len(), body.len() as u64);
    let crc = crc32(body).to_string();
    let headers = [(&b"X-Amz-Crc32"[..], crc.as_bytes())];
    let c = DynamoRefiner::request(b"DynamoDB_20120810.Scan", b"{}", false)
        .response_streamed(200, headers, &prefix);
    assert!(c.response_truncated && c.crc32_checked && !c.crc32_mismatch);
    assert_eq!(c.count, Some(3));
    assert_eq!(c.scanned_count, None);
    assert_eq!(c.response_json, Some(JsonIssue::EndedEarly));

    let mut whole = BodyPrefix::new(DEFAULT_BODY_PREFIX);
    whole.push(body);
    assert!(!whole.truncated());
}

#[test]
fn detection() {
    let ct = Some(&b"application/x-amz-json-1.0"[..]);
    assert!(is_dynamodb(Some(b"DynamoDB_20120810.GetItem"), ct));
    assert!(is_dynamodb(Some(b" DynamoDB_20120810.Query "), None));
    assert!(is_dynamodb(
        Some(b"DynamoDB_20120810.Scan"),
        Some(b"Application/X-Amz-Json-1.0; charset=utf-8")
    ));
    assert!(!is_dynamodb(None, ct));
    assert!(!is_dynamodb(
        Some(b"DynamoDBStreams_20120810.GetRecords"),
        ct
    ));
    assert!(!is_dynamodb(Some(b"AmazonSQS.SendMessage"), ct));
    assert!(!is_dynamodb(
        Some(b"DynamoDB_20120810.GetItem"),
        Some(b"application/json")
    ));
    let c = DynamoRefiner::request(b"DynamoDB_20120810.Frobnicate", b"", false).without_response();
    assert_eq!(c.operation.as_deref(), Some("Frobnicate"));
    assert_eq!(c.operation_label, "_OTHER");
    let c = DynamoRefiner::request(b"Other.GetItem", b"{}", false).without_response();
    assert_eq!((c.operation, c.operation_label), (None, "_OTHER"));
}

#[test]
fn hostile_bodies() {
    let deep = format!("{{\"TableName\":\"t\",\"Item\":{}", "{\"a\":".repeat(5000));
    let c = DynamoRefiner::request(b"DynamoDB_20120810.PutItem", deep.as_bytes(), false)
        .without_response();
    assert_eq!(names(&c), [("t", 0)]);
    assert_eq!(c.request_json, Some(JsonIssue::TooDeep));

    let huge = format!("{{\"Limit\":{},\"TableName\":\"t\"}}", "9".repeat(40));
    let c = DynamoRefiner::request(b"DynamoDB_20120810.Scan", huge.as_bytes(), false)
        .without_response();
    assert_eq!(c.limit, None, "does not fit u64: dropped, not wrapped");
    assert_eq!(names(&c), [("t", 0)]);
    let huger = format!("{{\"Limit\":{}}}", "9".repeat(500));
    let c = DynamoRefiner::request(b"DynamoDB_20120810.Scan", huger.as_bytes(), false)
        .without_response();
    assert_eq!(c.request_json, Some(JsonIssue::Invalid("number too long")));

    let c = DynamoRefiner::request(
        b"DynamoDB_20120810.GetItem",
        b"{\"TableName\":\"caf\xc3\xa9\xff\",\"Key\":{\"a\":\"unterminated",
        false,
    )
    .without_response();
    assert_eq!(names(&c), [("café\u{fffd}", 0)]);
    assert_eq!(c.request_json, Some(JsonIssue::EndedEarly));
    assert!(!c.request_truncated, "short JSON is not an observer cut");

    let long = format!("{{\"TableName\":\"{}\"}}", "x".repeat(10_000));
    let c = DynamoRefiner::request(b"DynamoDB_20120810.GetItem", long.as_bytes(), false)
        .without_response();
    assert_eq!(c.tables[0].name.len(), 255);

    let many: Vec<String> = (0..150)
        .map(|i| format!("{{\"Put\":{{\"TableName\":\"t{i}\"}}}}"))
        .collect();
    let body = format!("{{\"TransactItems\":[{}]}}", many.join(","));
    let c = DynamoRefiner::request(
        b"DynamoDB_20120810.TransactWriteItems",
        body.as_bytes(),
        false,
    )
    .without_response();
    assert_eq!(c.tables.len(), 100);
    assert_eq!(c.tables_dropped, 50);
    assert_eq!(c.request_json, None);

    // Wrong types are skipped, not errors.
    let c = DynamoRefiner::request(
        b"DynamoDB_20120810.Query",
        br#"{"TableName":7,"Limit":"ten","ConsistentRead":"yes","RequestItems":[1],"TransactItems":{}}"#,
        false,
    )
    .without_response();
    assert!(c.tables.is_empty() && c.limit.is_none() && c.consistent_read.is_none());
    assert_eq!(c.request_json, None);

    let c = DynamoRefiner::request(b"DynamoDB_20120810.Query", b"{}", false).response(
        200,
        [],
        br#"{"ConsumedCapacity":{"CapacityUnits":1e999,"GlobalSecondaryIndexes":{"a":{"CapacityUnits":-1e999}}},"Count":-1,"ScannedCount":1.5}"#,
        false,
    );
    assert_eq!(c.consumed_capacity, [CapacityUse::default()]);
    assert_eq!((c.count, c.scanned_count), (None, None));
    assert_eq!(c.response_json, None);

    let c = DynamoRefiner::request(b"DynamoDB_20120810.Query", b"[1,2]", false).without_response();
    assert_eq!(c.request_json, Some(JsonIssue::Invalid("expected object")));

    let c = DynamoRefiner::request(b"DynamoDB_20120810.Query", b"{}", false).response(
        500,
        [(&b"Content-Encoding"[..], &b"gzip"[..])],
        b"\x1f\x8b\x08\x00",
        false,
    );
    assert_eq!(c.response_json, Some(JsonIssue::Encoded));
    assert_eq!(c.error_type().as_deref(), Some("500"));
}

#[test]
fn attributes_follow_the_conventions() {
    let c = call("BatchGetItem");
    let attrs = c.attributes();
    let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("db.system.name"),
        Some(DynamoAttrValue::Str("aws.dynamodb".into()))
    );
    assert_eq!(
        get("db.operation.name"),
        Some(DynamoAttrValue::Str("BatchGetItem".into()))
    );
    assert_eq!(
        get("aws.dynamodb.table_names"),
        Some(DynamoAttrValue::StrArray(vec![
            "Music".into(),
            "Forum".into()
        ]))
    );
    assert_eq!(get("db.collection.name"), None);
    assert_eq!(
        get("aws.dynamodb.consumed_capacity"),
        Some(DynamoAttrValue::StrArray(vec![
            r#"{"TableName":"Music","CapacityUnits":1.5}"#.into(),
            r#"{"TableName":"Forum","CapacityUnits":0.5}"#.into(),
        ]))
    );
    assert!(matches!(
        get("aws.request_id"),
        Some(DynamoAttrValue::Str(_))
    ));
    assert_eq!(get("error.type"), None);
    assert_eq!(
        get("aws.dynamodb.table_names").unwrap().into_scalar(),
        crate::event::AttrValue::Str("Music,Forum".into())
    );

    let attrs = call("UpdateItem").attributes();
    let get = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("error.type"),
        Some(DynamoAttrValue::Str(
            "ConditionalCheckFailedException".into()
        ))
    );
    assert_eq!(
        get("db.collection.name"),
        Some(DynamoAttrValue::Str("Music".into()))
    );
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng::new(0xd1a0);
    for _ in 0..4000 {
        let case = &CASES[rng.below(CASES.len())];
        let mut req = case.request.as_bytes().to_vec();
        let mut resp = case.response.as_bytes().to_vec();
        for buf in [&mut req, &mut resp] {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(buf.len());
                match rng.below(3) {
                    0 => buf[i] = rng.next_u64() as u8,
                    1 => {
                        buf.remove(i);
                    }
                    _ => buf.insert(i, b"{}[]\",:\\"[rng.below(8)]),
                }
            }
        }
        let cut = rng.below(resp.len() + 1);
        let c = DynamoRefiner::request(&target(case.op), &req, rng.below(2) == 0).response(
            case.status,
            HEADERS.iter().copied(),
            &resp[..cut],
            cut < resp.len(),
        );
        let _ = c.attributes();
    }
}

// ---- recorded pairs -------------------------------------------------------

/// One recorded pair from `fixtures/*.txt` (written by `fixtures/capture.py`:
/// real boto3 calls against a real DynamoDB implementation).
pub(crate) struct Recorded<'a> {
    pub target: &'a [u8],
    pub status: u16,
    pub request: &'a [u8],
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    pub response: &'a [u8],
}

pub(crate) fn recorded(text: &'static str) -> Vec<Recorded<'static>> {
    let mut out: Vec<Recorded<'static>> = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("@@ ") {
            let (target, status) = head.rsplit_once(' ').unwrap();
            out.push(Recorded {
                target: target.as_bytes(),
                status: status.parse().unwrap(),
                request: b"",
                headers: Vec::new(),
                response: b"",
            });
        } else if let Some(body) = line.strip_prefix("REQ ") {
            out.last_mut().unwrap().request = body.as_bytes();
        } else if let Some(h) = line.strip_prefix("H ") {
            let (name, value) = h.split_once(": ").unwrap();
            let r = out.last_mut().unwrap();
            r.headers.push((name.as_bytes(), value.as_bytes()));
        } else if let Some(body) = line.strip_prefix("RESP ") {
            out.last_mut().unwrap().response = body.as_bytes();
        }
    }
    out
}

pub(crate) fn refine(r: &Recorded<'_>, req_cut: usize, resp_cut: usize) -> DynamoCall {
    let req_cut = req_cut.min(r.request.len());
    let resp_cut = resp_cut.min(r.response.len());
    DynamoRefiner::request(r.target, &r.request[..req_cut], req_cut < r.request.len()).response(
        r.status,
        r.headers.iter().copied(),
        &r.response[..resp_cut],
        resp_cut < r.response.len(),
    )
}

/// One line per call: what the metrics would see.
fn summary(c: &DynamoCall) -> String {
    let mut s = format!("{} {}", c.operation_label, c.status);
    for t in &c.tables {
        s += &format!(" {}:{}", t.name, t.items);
    }
    if let Some(e) = &c.error {
        s += &format!(" err={}", e.type_label);
    }
    for cap in &c.consumed_capacity {
        s += &format!(
            " cap={}:{}",
            cap.table.as_deref().unwrap_or("-"),
            cap.capacity_units.unwrap_or(-1.0)
        );
        if let Some(g) = cap.gsi_units {
            s += &format!("/gsi{g}");
        }
    }
    if let (Some(n), Some(sc)) = (c.count, c.scanned_count) {
        s += &format!(" count={n}/{sc}");
    }
    for (k, v) in [
        ("limit", c.limit),
        ("seg", c.segment),
        ("segs", c.total_segments),
    ] {
        if let Some(v) = v {
            s += &format!(" {k}={v}");
        }
    }
    if let Some(i) = &c.index_name {
        s += &format!(" index={i}");
    }
    if c.unprocessed_present {
        s += &format!(
            " unprocessed={}/{}",
            c.unprocessed_items, c.unprocessed_keys
        );
    }
    s
}

fn check_recorded(text: &'static str, expected: &[&str]) {
    let pairs = recorded(text);
    let got: Vec<String> = pairs
        .iter()
        .map(|r| summary(&refine(r, usize::MAX, usize::MAX)))
        .collect();
    assert_eq!(got, expected, "\n{}", got.join("\n"));
    for r in &pairs {
        let full = refine(r, usize::MAX, usize::MAX);
        let what = String::from_utf8_lossy(r.target).into_owned();
        assert!(is_dynamodb(Some(r.target), Some(CONTENT_TYPE)), "{what}");
        assert_eq!(
            (full.request_json, full.response_json),
            (None, None),
            "{what}"
        );
        assert!(full.request_id.is_some(), "{what}");
        if full.crc32.is_some() {
            assert!(full.crc32_checked && !full.crc32_mismatch, "{what}");
        }
        for cut in 0..r.request.len() {
            let part = refine(r, cut, usize::MAX);
            assert!(part.request_truncated);
            assert_consistent(&part, &full, &format!("{what} request cut at {cut}"));
        }
        for cut in 0..r.response.len() {
            let part = refine(r, usize::MAX, cut);
            assert!(part.response_truncated && !part.crc32_checked);
            assert_consistent(&part, &full, &format!("{what} response cut at {cut}"));
        }
    }
}

pub(crate) const MOTO: &str = include_str!("fixtures/moto.txt");
pub(crate) const DYNALITE: &str = include_str!("fixtures/dynalite.txt");

#[test]
fn recorded_moto() {
    check_recorded(
        MOTO,
        &[
            "CreateTable 200 Music:0",
            "CreateTable 200 Accounts:0",
            "DescribeTable 200 Music:0",
            "ListTables 200 limit=10",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 400 Music:0 err=ConditionalCheckFailedException",
            "GetItem 200 Music:0 cap=Music:0.5",
            "UpdateItem 200 Music:0 cap=Music:0.5",
            "DeleteItem 200 Music:0 cap=Music:1",
            "Query 200 Music:0 cap=Music:1 count=2/2 limit=2",
            "Query 200 Music:0 cap=Music:1 count=2/2 limit=2",
            "Query 200 Music:0 count=1/1 index=ByYear",
            "Scan 200 Music:0 cap=Music:1 count=0/0 seg=0 segs=2",
            "Scan 200 Music:0 cap=Music:1 count=5/5 seg=1 segs=2",
            "BatchWriteItem 200 Music:4 Accounts:1 cap=Music:1 cap=Accounts:1 unprocessed=0/0",
            "BatchGetItem 200 Music:3 Accounts:1 cap=Music:3 cap=Accounts:1 unprocessed=0/0",
            "TransactWriteItems 200 Accounts:2 Music:1",
            "TransactWriteItems 400 Accounts:1 Music:1 err=TransactionCanceledException",
            "TransactGetItems 200 Accounts:1 Music:1 cap=Accounts:2 cap=Music:2",
            "GetItem 400 Missing:0 err=ResourceNotFoundException",
            "GetItem 400 Music:0 err=ValidationException",
            "DescribeTimeToLive 200 Music:0",
            "UpdateTimeToLive 200 Music:0",
            "ExecuteStatement 200",
            "DeleteTable 200 Accounts:0",
        ],
    );
}

#[test]
fn recorded_dynalite() {
    check_recorded(
        DYNALITE,
        &[
            "CreateTable 200 Music:0",
            "CreateTable 200 Accounts:0",
            "DescribeTable 200 Music:0",
            "ListTables 200 limit=10",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 200 Music:0 cap=Music:1",
            "PutItem 400 Music:0 err=ConditionalCheckFailedException",
            "GetItem 200 Music:0 cap=Music:1",
            "UpdateItem 200 Music:0 cap=Music:1",
            "DeleteItem 200 Music:0 cap=Music:1",
            "Query 200 Music:0 cap=Music:0.5 count=2/2 limit=2",
            "Query 200 Music:0 cap=Music:0.5 count=2/2 limit=2",
            "Query 200 Music:0 count=1/1 index=ByYear",
            "Scan 200 Music:0 cap=Music:0.5 count=5/5 seg=0 segs=2",
            "Scan 200 Music:0 cap=Music:0 count=0/0 seg=1 segs=2",
            "BatchWriteItem 200 Music:4 Accounts:1 cap=Music:4 cap=Accounts:1 unprocessed=0/0",
            "BatchGetItem 200 Music:3 Accounts:1 cap=Music:3 cap=Accounts:0.5 unprocessed=0/0",
            "TransactWriteItems 400 Accounts:2 Music:1 err=UnknownOperationException",
            "TransactWriteItems 400 Accounts:1 Music:1 err=UnknownOperationException",
            "TransactGetItems 400 Accounts:1 Music:1 err=UnknownOperationException",
            "GetItem 400 Missing:0 err=ResourceNotFoundException",
            "GetItem 400 Music:0 err=ValidationException",
            "DescribeTimeToLive 200 Music:0",
            "UpdateTimeToLive 400 Music:0 err=UnknownOperationException",
            "ExecuteStatement 400 err=UnknownOperationException",
            "DeleteTable 200 Accounts:0",
        ],
    );
}
