//! DynamoDB refiner over realistic bodies: a full 25-item BatchWriteItem
//! request, and a 1 MiB-capped Scan response cut mid-item (values are
//! skipped in place, so this is the scanner's skip rate).
use super::Case;
use periscope_parsers::dynamodb::DynamoRefiner;
use std::hint::black_box;

fn item(i: usize) -> String {
    format!(
        r#"{{"pk":{{"S":"user-{i}"}},"sk":{{"N":"{i}"}},"name":{{"S":"Name \"{i}\""}},"tags":{{"L":[{{"S":"a"}},{{"S":"b"}}]}},"score":{{"N":"12.5"}},"active":{{"BOOL":true}}}}"#
    )
}

pub fn cases() -> Vec<Case> {
    let puts: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"PutRequest":{{"Item":{}}}}}"#, item(i)))
        .collect();
    let request = format!(
        r#"{{"RequestItems":{{"Users":[{}]}},"ReturnConsumedCapacity":"TOTAL"}}"#,
        puts.join(",")
    );
    let items: Vec<String> = (0..8000).map(item).collect();
    let scan = format!(
        r#"{{"ConsumedCapacity":{{"TableName":"Users","CapacityUnits":128.5}},"Count":8000,"Items":[{}],"ScannedCount":8000}}"#,
        items.join(",")
    );
    let scan = scan.as_bytes()[..scan.len().min(1 << 20)].to_vec();
    vec![
        Case {
            group: "dynamodb",
            name: "batch_write_25_request".to_owned(),
            bytes: Some(request.len() as u64),
            run: Box::new(move || {
                let call = DynamoRefiner::request(
                    b"DynamoDB_20120810.BatchWriteItem",
                    black_box(request.as_bytes()),
                    false,
                )
                .without_response();
                black_box(call);
                1
            }),
        },
        Case {
            group: "dynamodb",
            name: "scan_response_1mib_prefix".to_owned(),
            bytes: Some(scan.len() as u64),
            run: Box::new(move || {
                let headers: [(&[u8], &[u8]); 1] = [(b"x-amzn-RequestId", b"R9J5ABCDEF")];
                let call = DynamoRefiner::request(
                    b"DynamoDB_20120810.Scan",
                    br#"{"TableName":"Users"}"#,
                    false,
                )
                .response(200, headers, black_box(&scan), true);
                black_box(call);
                1
            }),
        },
    ]
}
