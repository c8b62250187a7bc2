//! `tracing:` and `access_log:`: accepted forms, defaults, and exact
//! problem lines for every rule.
use super::{assert_problem, load, problems};
use crate::config::{LogFormat, LogPath, OtlpProtocol};

const LISTENER: &str = "listeners: [ { name: a, address: 127.0.0.1:1, cluster: c } ]\n\
                        clusters: [ { name: c, endpoints: [\"h:1\"] } ]\n";

fn with(extra: &str) -> String {
    format!("{LISTENER}{extra}")
}

#[test]
fn tracing_is_off_by_default_with_documented_defaults() {
    let config = load(LISTENER).expect("valid");
    assert_eq!(config.tracing.endpoint, None);
    assert_eq!(config.tracing.protocol, OtlpProtocol::Grpc);
    assert_eq!(config.tracing.service_name, "periscope");
    assert_eq!(config.tracing.sampling_ratio, 1.0);
    assert_eq!(config.tracing.queue_size, 2048);
    assert!(config.listeners[0].access_log.is_none());
    assert!(config.effective.get("tracing").is_none());
}

#[test]
fn full_tracing_block_is_typed() {
    let config = load(&with(
        "tracing:\n  endpoint: http://127.0.0.1:4318\n  protocol: http/protobuf\n  \
         headers: { x-api-key: secret }\n  service_name: edge\n  \
         resource_attributes: { deployment.environment: prod }\n  \
         sampling_ratio: 0.25\n  queue_size: 10\n",
    ))
    .expect("valid");
    let t = &config.tracing;
    assert_eq!(t.endpoint.as_deref(), Some("http://127.0.0.1:4318"));
    assert_eq!(t.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(t.headers, vec![("x-api-key".into(), "secret".into())]);
    assert_eq!(t.service_name, "edge");
    assert_eq!(
        t.resource_attributes,
        vec![("deployment.environment".into(), "prod".into())]
    );
    assert_eq!((t.sampling_ratio, t.queue_size), (0.25, 10));
}

#[test]
fn tracing_values_are_checked_with_positions() {
    assert_eq!(
        problems(&with(
            "tracing:\n  endpoint: 127.0.0.1:4317\n  sampling_ratio: 1.5\n  queue_size: 0\n  \
             service_name: \"\"\n  headers: { \"bad header\": x }\n"
        )),
        vec![
            "t.yaml:4:13: tracing.endpoint: \"127.0.0.1:4317\" must be an http:// or https:// URL \
             with a host (e.g. http://127.0.0.1:4317)",
            "t.yaml:5:19: tracing.sampling_ratio: must be between 0 and 1, got 1.5",
            "t.yaml:6:15: tracing.queue_size: must be between 1 and 1000000, got 0",
            "t.yaml:7:17: tracing.service_name: must not be empty",
            "t.yaml:8:28: tracing.headers.bad header: \"bad header\" is not a valid header name",
        ]
    );
}

#[test]
fn unknown_otlp_protocol_lists_the_supported_ones() {
    assert_problem(
        &with("tracing:\n  endpoint: http://c:4317\n  protocol: http/json\n"),
        "t.yaml:5:13: tracing.protocol: unknown variant `http/json`, expected one of grpc, http/protobuf",
    );
}

#[test]
fn access_logs_are_typed() {
    let config = load(
        "listeners:\n  - { name: a, address: 127.0.0.1:1, cluster: c, access_log: { path: stdout } }\n  \
         - name: b\n    address: 127.0.0.1:2\n    cluster: c\n    access_log:\n      \
         path: /tmp/b.log\n      format: text\n      text_format: \"%METHOD% %RESPONSE_CODE%\"\n\
         clusters: [ { name: c, endpoints: [\"h:1\"] } ]\n",
    )
    .expect("valid");
    let a = config.listeners[0].access_log.as_ref().expect("a logs");
    assert_eq!(a.path, LogPath::Stdout);
    assert!(matches!(a.format, LogFormat::Json));
    let b = config.listeners[1].access_log.as_ref().expect("b logs");
    assert_eq!(b.path, LogPath::File("/tmp/b.log".into()));
    assert!(matches!(b.format, LogFormat::Text(_)));
}

#[test]
fn access_log_rules_name_the_line() {
    let listener = |log: &str| {
        format!(
            "listeners:\n  - name: a\n    address: 127.0.0.1:1\n    cluster: c\n    \
             access_log:\n{log}clusters: [ {{ name: c, endpoints: [\"h:1\"] }} ]\n"
        )
    };
    assert_problem(
        &listener("      path: stdout\n      format: text\n      text_format: \"%METHOD% %BOGUS%\"\n"),
        &format!(
            "t.yaml:8:20: listeners[0].access_log.text_format: unknown operator %BOGUS% (known: {})",
            "START_TIME, METHOD, REQ(:METHOD), PATH, REQ(:PATH), REQ(:AUTHORITY), REQ(HOST), \
             REQ(X-REQUEST-ID), PROTOCOL, RESPONSE_CODE, GRPC_STATUS, DURATION, BYTES_RECEIVED, \
             BYTES_SENT, DOWNSTREAM_REMOTE_ADDRESS, UPSTREAM_HOST, ROUTE_NAME, UPSTREAM_CLUSTER, \
             LISTENER_NAME, TRACE_ID, DB_NAMESPACE, DB_COLLECTION, DB_OPERATION, DB_STATUS_CODE"
        ),
    );
    assert_problem(
        &listener("      path: stdout\n      text_format: \"%METHOD%\"\n"),
        "t.yaml:7:20: listeners[0].access_log.text_format: text_format only applies to format \
         text (this log is json)",
    );
    assert_problem(
        &listener("      path: \"\"\n"),
        "t.yaml:6:13: listeners[0].access_log.path: must be `stdout` or a file path",
    );
    assert_problem(
        &listener("      path: stdout\n      format: xml\n"),
        "t.yaml:7:15: listeners[0].access_log.format: unknown variant `xml`, expected one of json, text",
    );
}
