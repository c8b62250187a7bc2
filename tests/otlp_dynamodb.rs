//! DynamoDB calls as OTLP spans: the aws CLI against dynalite through
//! Periscope, spans checked in a real OTLP receiver.
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use common::configs::proxy;
use common::runtime::require_runtime;
use common::{DynamoServer, Periscope};
use otlp::{pretty, span, OtlpReceiver};
use serde_json::{json, Value};
use std::process::Command;

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

fn aws(endpoint: std::net::SocketAddr, args: &[&str]) -> bool {
    let aws = require_runtime("venv/bin/aws", "the aws CLI");
    Command::new(aws)
        .args(["dynamodb", "--endpoint-url", &format!("http://{endpoint}")])
        .args(["--region", "us-east-1"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run aws")
        .status
        .success()
}

/// One CLIENT span per call, named `{operation} {table}`, with the AWS
/// DynamoDB attributes beside the HTTP ones, on both paths.
#[test]
fn dynamodb_calls_are_client_spans_with_aws_attributes() {
    let db = DynamoServer::dynalite();
    for protocol in ["http", "tcp"] {
        let otlp = OtlpReceiver::start();
        let tracing = format!("tracing:\n  endpoint: {}\n", otlp.grpc_url());
        let px = Periscope::start(|| proxy(protocol, "http1", db.addr) + &tracing);
        let table = format!("Spans_{protocol}");
        assert!(aws(
            px.addr("edge"),
            &[
                "create-table",
                "--table-name",
                &table,
                "--attribute-definitions",
                "AttributeName=id,AttributeType=S",
                "--key-schema",
                "AttributeName=id,KeyType=HASH",
                "--billing-mode",
                "PAY_PER_REQUEST",
            ],
        ));
        assert!(aws(
            px.addr("edge"),
            &[
                "put-item",
                "--table-name",
                &table,
                "--item",
                r#"{"id": {"S": "1"}}"#,
                "--return-consumed-capacity",
                "TOTAL",
            ],
        ));
        assert!(!aws(
            px.addr("edge"),
            &["describe-table", "--table-name", "Nope"]
        ));
        let spans = otlp.wait_spans(3);
        let mut names: Vec<_> = spans
            .iter()
            .map(|s| s["name"].as_str().unwrap_or(""))
            .collect();
        names.sort();
        let expected = [
            format!("CreateTable {table}"),
            "DescribeTable Nope".to_owned(),
            format!("PutItem {table}"),
        ];
        assert_eq!(names, expected, "{protocol}: {}", pretty(&spans));
        for s in &spans {
            assert_eq!(s["kind"], "CLIENT", "{s}");
            assert_eq!(attr(s, "db.system.name"), "aws.dynamodb");
            assert_eq!(attr(s, "rpc.system"), "aws-api");
            assert_eq!(attr(s, "http.request.method"), "POST");
            assert_eq!(attr(s, "server.port"), &json!(db.addr.port()));
            assert!(attr(s, "aws.request_id").is_string(), "{s}");
        }
        let put = span(&spans, &format!("PutItem {table}"));
        assert_eq!(put["status_code"], "UNSET");
        assert_eq!(attr(put, "aws.dynamodb.table_names"), &json!([table]));
        assert_eq!(attr(put, "db.collection.name"), &json!(table));
        let capacity = attr(put, "aws.dynamodb.consumed_capacity");
        assert_eq!(
            capacity,
            &json!([format!(r#"{{"TableName":"{table}","CapacityUnits":1}}"#)])
        );
        let missing = span(&spans, "DescribeTable Nope");
        assert_eq!(missing["status_code"], "ERROR");
        assert_eq!(attr(missing, "error.type"), "ResourceNotFoundException");
        assert_eq!(attr(missing, "http.response.status_code"), 400);
    }
}
