//! DynamoDB telemetry with real peers: boto3 and the aws CLI against
//! dynalite and moto, through Periscope's L7 proxy and its L4 sniffer. Every
//! operation series is compared with boto3's own account of the calls.
mod common;

use common::configs::proxy;
use common::dynamo::{BODY_ISSUES, OPERATIONS};
use common::runtime::require_runtime;
use common::{DynamoAccount, DynamoServer, Periscope, RawConn, REQUESTS};
use std::process::Command;
use std::time::Duration;

fn workload_matches(server: DynamoServer, listener_protocol: &str) -> DynamoAccount {
    let px = Periscope::start(|| proxy(listener_protocol, "http1", server.addr));
    let account = DynamoAccount::run(px.addr("edge"), "");
    account.assert_matches(&px, "edge");
    // Each call is an HTTP request too, and only once.
    px.wait_metric(REQUESTS, &[("listener", "edge")], account.requests as f64);
    account
}

/// The L7 proxy, with moto's full API (transactions) and one connection
/// per call.
#[test]
fn boto3_through_the_proxy_to_moto() {
    let account = workload_matches(DynamoServer::moto(), "http");
    assert_eq!(
        account.count(
            "TransactWriteItems",
            "Accounts",
            "TransactionCanceledException"
        ),
        1
    );
    assert_eq!(
        account.count("PutItem", "Music", "ConditionalCheckFailedException"),
        1
    );
    assert_eq!(
        account.count("GetItem", "Missing", "ResourceNotFoundException"),
        1
    );
    assert_eq!(account.count("GetItem", "Music", "ValidationException"), 1);
    assert!(account.pages["Query"] >= 3, "the query paginated");
}

/// The L4 sniffer on keep-alive connections: HTTP/1.1 parsed off the wire,
/// bodies de-framed and read as they pass.
#[test]
fn boto3_sniffed_on_a_tcp_listener_to_dynalite() {
    let account = workload_matches(DynamoServer::dynalite(), "tcp");
    assert_eq!(
        account.count("TransactGetItems", "Music", "UnknownOperationException"),
        1
    );
}

#[test]
fn boto3_through_the_proxy_to_dynalite() {
    workload_matches(DynamoServer::dynalite(), "http");
}

#[test]
fn boto3_sniffed_on_a_tcp_listener_to_moto() {
    workload_matches(DynamoServer::moto(), "tcp");
}

/// The aws CLI is a second real client (its own request shapes, same
/// botocore): two calls, counted exactly.
#[test]
fn aws_cli_calls_are_counted() {
    let db = DynamoServer::dynalite();
    let px = Periscope::start(|| proxy("auto", "http1", db.addr));
    let aws = require_runtime("venv/bin/aws", "the aws CLI");
    let url = format!("http://{}", px.addr("edge"));
    for args in [
        &[
            "create-table",
            "--table-name",
            "Cli",
            "--attribute-definitions",
            "AttributeName=id,AttributeType=S",
            "--key-schema",
            "AttributeName=id,KeyType=HASH",
            "--billing-mode",
            "PAY_PER_REQUEST",
        ][..],
        &["describe-table", "--table-name", "Cli"],
        &["describe-table", "--table-name", "Nope"],
    ] {
        let out = Command::new(&aws)
            .args(["dynamodb", "--endpoint-url", &url, "--region", "us-east-1"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_MAX_ATTEMPTS", "1")
            .output()
            .expect("run aws");
        let failed_as_expected = args[2] == "Nope" && !out.status.success();
        assert!(
            out.status.success() || failed_as_expected,
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let op = |name, table, error| {
        [
            ("listener", "edge"),
            ("db_system_name", "aws.dynamodb"),
            ("db_operation_name", name),
            ("db_collection_name", table),
            ("error_type", error),
        ]
    };
    px.wait_metric(OPERATIONS, &op("CreateTable", "Cli", ""), 1.0);
    px.wait_metric(OPERATIONS, &op("DescribeTable", "Cli", ""), 1.0);
    px.wait_metric(
        OPERATIONS,
        &op("DescribeTable", "Nope", "ResourceNotFoundException"),
        1.0,
    );
    px.wait_metric(OPERATIONS, &[("db_system_name", "aws.dynamodb")], 3.0);
}

fn dynamo_request(operation: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: dynamodb\r\nX-Amz-Target: DynamoDB_20120810.{operation}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// JSON that cannot be read is counted with a reason, the call still has
/// its operation and HTTP telemetry, and the bytes reach dynalite intact
/// (its own answer says what it thought of them).
#[test]
fn unreadable_and_oversized_bodies_are_counted_and_still_forwarded() {
    let db = DynamoServer::dynalite();
    for protocol in ["http", "tcp"] {
        let px = Periscope::start(|| {
            proxy(protocol, "http1", db.addr).replace(
                "    cluster: web\n",
                "    cluster: web\n    dynamodb: { max_body_bytes: 64 }\n",
            )
        });
        let mut conn = RawConn::connect(px.addr("edge"));
        let broken = r#"{"TableName": "Music", "Key": {"id": {"S": "x"}}]]"#;
        let big = format!(
            r#"{{"TableName": "Music", "Item": {{"id": {{"S": "{}"}}}}}}"#,
            "x".repeat(500)
        );
        conn.send(&dynamo_request("GetItem", broken));
        conn.send(&dynamo_request("PutItem", &big));
        let responses = conn.read_responses(2, Duration::from_secs(10));
        // dynalite answers both (unsigned requests are its 400s): nothing
        // was lost or held on the way.
        assert_eq!(responses.len(), 2, "{protocol}");
        assert!(responses.iter().all(|r| r.status == 400), "{protocol}");
        let at = [("listener", "edge")];
        px.wait_metric(REQUESTS, &at, 2.0);
        px.wait_metric(OPERATIONS, &[("db_system_name", "aws.dynamodb")], 2.0);
        let scrape = px.scrape();
        let request_issues = [("listener", "edge"), ("direction", "request")];
        scrape.assert_value(BODY_ISSUES, &request_issues, 2.0);
        let truncated = [("direction", "request"), ("reason", "truncated")];
        scrape.assert_value(BODY_ISSUES, &truncated, 1.0);
        // Fields before the cut were kept: the table of the oversized put.
        let put = [
            ("db_operation_name", "PutItem"),
            ("db_collection_name", "Music"),
        ];
        scrape.assert_value(OPERATIONS, &put, 1.0);
        let get = [
            ("db_operation_name", "GetItem"),
            ("db_collection_name", "Music"),
        ];
        scrape.assert_value(OPERATIONS, &get, 1.0);
    }
}
