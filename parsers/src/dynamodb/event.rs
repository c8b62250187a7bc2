//! What the DynamoDB refiner reports about one call: the contract between
//! the sans-IO refiner and the runtime's metrics and spans.

use std::fmt::Write as _;

use crate::event::AttrValue;

/// Longest table or index name kept (DynamoDB's own limit is 255).
pub const MAX_NAME_CHARS: usize = 255;
/// Longest error message kept.
pub const MAX_MESSAGE_CHARS: usize = 512;
/// Longest request id kept.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
/// Most tables kept per call (BatchGetItem and TransactItems allow 100).
pub const MAX_TABLES: usize = 100;
/// Most consumed-capacity entries kept per call.
pub const MAX_CAPACITY_ENTRIES: usize = 100;

/// DynamoDB_20120810 operations: a closed list for the `db.operation.name`
/// label; anything else labels as `_OTHER`.
pub const OPERATIONS: &[&str] = &[
    "BatchExecuteStatement",
    "BatchGetItem",
    "BatchWriteItem",
    "CreateBackup",
    "CreateGlobalTable",
    "CreateTable",
    "DeleteBackup",
    "DeleteItem",
    "DeleteResourcePolicy",
    "DeleteTable",
    "DescribeBackup",
    "DescribeContinuousBackups",
    "DescribeContributorInsights",
    "DescribeEndpoints",
    "DescribeExport",
    "DescribeGlobalTable",
    "DescribeGlobalTableSettings",
    "DescribeImport",
    "DescribeKinesisStreamingDestination",
    "DescribeLimits",
    "DescribeTable",
    "DescribeTableReplicaAutoScaling",
    "DescribeTimeToLive",
    "DisableKinesisStreamingDestination",
    "EnableKinesisStreamingDestination",
    "ExecuteStatement",
    "ExecuteTransaction",
    "ExportTableToPointInTime",
    "GetItem",
    "GetResourcePolicy",
    "ImportTable",
    "ListBackups",
    "ListContributorInsights",
    "ListExports",
    "ListGlobalTables",
    "ListImports",
    "ListTables",
    "ListTagsOfResource",
    "PutItem",
    "PutResourcePolicy",
    "Query",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "Scan",
    "TagResource",
    "TransactGetItems",
    "TransactWriteItems",
    "UntagResource",
    "UpdateContinuousBackups",
    "UpdateContributorInsights",
    "UpdateGlobalTable",
    "UpdateGlobalTableSettings",
    "UpdateItem",
    "UpdateKinesisStreamingDestination",
    "UpdateTable",
    "UpdateTableReplicaAutoScaling",
    "UpdateTimeToLive",
];

/// Known DynamoDB (and common AWS JSON protocol) error names: a closed list
/// for the `error.type` label; anything else labels as `_OTHER`.
pub const ERRORS: &[&str] = &[
    "AccessDeniedException",
    "BackupInUseException",
    "BackupNotFoundException",
    "ConditionalCheckFailedException",
    "ContinuousBackupsUnavailableException",
    "DuplicateItemException",
    "ExpiredTokenException",
    "ExportConflictException",
    "ExportNotFoundException",
    "GlobalTableAlreadyExistsException",
    "GlobalTableNotFoundException",
    "IdempotentParameterMismatchException",
    "ImportConflictException",
    "ImportNotFoundException",
    "IncompleteSignatureException",
    "IndexNotFoundException",
    "InternalFailure",
    "InternalServerError",
    "InvalidEndpointException",
    "InvalidExportTimeException",
    "InvalidRestoreTimeException",
    "InvalidSignatureException",
    "ItemCollectionSizeLimitExceededException",
    "LimitExceededException",
    "MissingAuthenticationTokenException",
    "PointInTimeRecoveryUnavailableException",
    "PolicyNotFoundException",
    "ProvisionedThroughputExceededException",
    "ReplicaAlreadyExistsException",
    "ReplicaNotFoundException",
    "RequestLimitExceeded",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "SerializationException",
    "ServiceUnavailable",
    "TableAlreadyExistsException",
    "TableInUseException",
    "TableNotFoundException",
    "ThrottlingException",
    "TransactionCanceledException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationException",
];

/// The closed-list label for an operation name.
pub fn operation_label(name: &str) -> &'static str {
    OPERATIONS
        .iter()
        .find(|op| **op == name)
        .copied()
        .unwrap_or("_OTHER")
}

/// The closed-list label for an error `__type`, after reducing it to the
/// name following the last `#` (`com.amazonaws.dynamodb.v20120810#X` → `X`).
pub fn error_label(type_name: &str) -> &'static str {
    let name = type_name.rsplit('#').next().unwrap_or(type_name);
    // Some services append `:http://...` after the name.
    let name = name.split(':').next().unwrap_or(name);
    ERRORS
        .iter()
        .find(|e| **e == name)
        .copied()
        .unwrap_or("_OTHER")
}

/// Whether an error label means the caller was throttled.
pub fn is_throttle(label: &str) -> bool {
    matches!(
        label,
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
    )
}

/// One table a call touches, with the number of items it names there
/// (keys or write requests for batch operations, transact items for
/// transactions, 0 when the operation names no items: Query, Scan, DDL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUse {
    pub name: String,
    pub items: u32,
}

/// One `ConsumedCapacity` entry of a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityUse {
    pub table: Option<String>,
    pub capacity_units: Option<f64>,
    pub read_units: Option<f64>,
    pub write_units: Option<f64>,
    /// Sum of `CapacityUnits` over `GlobalSecondaryIndexes`.
    pub gsi_units: Option<f64>,
    /// Sum of `CapacityUnits` over `LocalSecondaryIndexes`.
    pub lsi_units: Option<f64>,
    /// `CapacityUnits` of the base table (`Table`), when reported apart.
    pub table_units: Option<f64>,
    /// `Partitions`: `{partition id: units}`, sent by DynamoDB to some
    /// callers and read by Envoy's dynamo filter for its per-partition view.
    /// At most [`MAX_PARTITIONS`]; ids bounded to [`MAX_PARTITION_ID_CHARS`].
    pub partitions: Vec<PartitionUse>,
}

/// Most partitions kept per capacity entry.
pub const MAX_PARTITIONS: usize = 32;
/// Longest partition id kept.
pub const MAX_PARTITION_ID_CHARS: usize = 64;

/// Capacity one partition consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionUse {
    pub id: String,
    pub capacity_units: f64,
}

impl PartitionUse {
    /// The id's last seven characters, as Envoy labels partitions (a
    /// bounded label; full ids are long and per-table unique).
    pub fn label(&self) -> &str {
        let n = self.id.chars().count();
        let skip = n.saturating_sub(7);
        let start = self.id.char_indices().nth(skip).map_or(0, |(i, _)| i);
        &self.id[start..]
    }
}

/// A DynamoDB error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoError {
    /// From [`ERRORS`] or `_OTHER`.
    pub type_label: &'static str,
    /// The `__type` name after `#`, bounded (for logs; never a label).
    pub type_name: String,
    /// `message` / `Message`, bounded.
    pub message: Option<String>,
}

/// Why a body's JSON could not be read to its end: a bounded label set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonIssue {
    /// The prefix ended inside the document (`truncated` says whether the
    /// observer cut it or the peer sent short JSON).
    EndedEarly,
    TooDeep,
    Invalid(&'static str),
    /// `Content-Encoding` other than identity: not read.
    Encoded,
}

impl JsonIssue {
    pub fn as_str(&self) -> &'static str {
        match self {
            JsonIssue::EndedEarly => "ended_early",
            JsonIssue::TooDeep => "too_deep",
            JsonIssue::Invalid(reason) => reason,
            JsonIssue::Encoded => "content_encoding",
        }
    }
}

impl From<super::json::Stop> for JsonIssue {
    fn from(stop: super::json::Stop) -> JsonIssue {
        match stop {
            super::json::Stop::EndedEarly => JsonIssue::EndedEarly,
            super::json::Stop::TooDeep => JsonIssue::TooDeep,
            super::json::Stop::Invalid(reason) => JsonIssue::Invalid(reason),
        }
    }
}

/// Everything the refiner learned about one DynamoDB call. Fields are
/// `None` / empty / zero when absent or beyond a cut body's prefix; every
/// value that is present was read from complete JSON tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamoCall {
    /// From `X-Amz-Target`, bounded; `None` when absent or not DynamoDB.
    pub operation: Option<String>,
    /// From [`OPERATIONS`] or `_OTHER`.
    pub operation_label: &'static str,
    /// Tables in the order first named, at most [`MAX_TABLES`].
    pub tables: Vec<TableUse>,
    /// Tables named beyond [`MAX_TABLES`].
    pub tables_dropped: u32,
    pub index_name: Option<String>,
    pub limit: Option<u64>,
    pub select: Option<String>,
    pub consistent_read: Option<bool>,
    pub return_consumed_capacity: Option<String>,
    pub segment: Option<u64>,
    pub total_segments: Option<u64>,
    /// HTTP status of the response (0 before a response is seen).
    pub status: u16,
    pub error: Option<DynamoError>,
    /// At most [`MAX_CAPACITY_ENTRIES`].
    pub consumed_capacity: Vec<CapacityUse>,
    pub count: Option<u64>,
    pub scanned_count: Option<u64>,
    /// Items (write requests / keys) left unprocessed, over all tables.
    pub unprocessed_items: u32,
    pub unprocessed_keys: u32,
    /// Whether `UnprocessedItems` / `UnprocessedKeys` were present at all
    /// (empty `{}` on a fully processed batch).
    pub unprocessed_present: bool,
    pub item_collection_metrics_present: bool,
    /// `x-amzn-RequestId`, bounded.
    pub request_id: Option<String>,
    /// `x-amz-crc32` as sent.
    pub crc32: Option<u32>,
    /// The header disagreed with the CRC-32 of the full (untruncated) body.
    pub crc32_mismatch: bool,
    /// Whether the CRC was actually checked (present, body whole).
    pub crc32_checked: bool,
    /// The observer cut the request / response body at its prefix cap.
    pub request_truncated: bool,
    pub response_truncated: bool,
    /// Why the request / response JSON stopped before its end, if it did.
    pub request_json: Option<JsonIssue>,
    pub response_json: Option<JsonIssue>,
}

/// An attribute value; DynamoDB's conventions need string arrays, which the
/// crate-wide [`AttrValue`] does not have, so this extends it.
#[derive(Debug, Clone, PartialEq)]
pub enum DynamoAttrValue {
    Str(String),
    Int(i64),
    Bool(bool),
    StrArray(Vec<String>),
}

impl DynamoAttrValue {
    /// Down to the crate-wide type (arrays joined with `,`), for sinks that
    /// only take scalars.
    pub fn into_scalar(self) -> AttrValue {
        match self {
            DynamoAttrValue::Str(s) => AttrValue::Str(s),
            DynamoAttrValue::Int(i) => AttrValue::Int(i),
            DynamoAttrValue::Bool(b) => AttrValue::Bool(b),
            DynamoAttrValue::StrArray(v) => AttrValue::Str(v.join(",")),
        }
    }
}

impl DynamoCall {
    /// Whether the call failed: an error body, or a status ≥ 400.
    pub fn is_error(&self) -> bool {
        self.error.is_some() || self.status >= 400
    }

    /// The `error.type` label: the DynamoDB error label, else the status
    /// code, else `None` for success.
    pub fn error_type(&self) -> Option<String> {
        match (&self.error, self.status) {
            (Some(e), _) => Some(e.type_label.to_owned()),
            (None, s) if s >= 400 => Some(s.to_string()),
            _ => None,
        }
    }

    /// `db.collection.name`: the table when the call names exactly one.
    pub fn collection_name(&self) -> Option<&str> {
        match self.tables.as_slice() {
            [one] => Some(&one.name),
            _ => None,
        }
    }

    /// The call as OpenTelemetry attributes (AWS SDK DynamoDB conventions
    /// plus the database ones). Operation and error labels are the bounded
    /// ones; names are as sent.
    pub fn attributes(&self) -> Vec<(&'static str, DynamoAttrValue)> {
        use DynamoAttrValue::*;
        let mut out = vec![
            ("db.system.name", Str("aws.dynamodb".to_owned())),
            ("rpc.system", Str("aws-api".to_owned())),
            ("rpc.service", Str("DynamoDB".to_owned())),
            ("db.operation.name", Str(self.operation_label.to_owned())),
            ("rpc.method", Str(self.operation_label.to_owned())),
        ];
        if !self.tables.is_empty() {
            out.push((
                "aws.dynamodb.table_names",
                StrArray(self.tables.iter().map(|t| t.name.clone()).collect()),
            ));
        }
        if let Some(name) = self.collection_name() {
            out.push(("db.collection.name", Str(name.to_owned())));
        }
        if let Some(v) = &self.index_name {
            out.push(("aws.dynamodb.index_name", Str(v.clone())));
        }
        if let Some(v) = self.limit {
            out.push(("aws.dynamodb.limit", Int(clamp(v))));
        }
        if let Some(v) = &self.select {
            out.push(("aws.dynamodb.select", Str(v.clone())));
        }
        if let Some(v) = self.consistent_read {
            out.push(("aws.dynamodb.consistent_read", Bool(v)));
        }
        if let Some(v) = self.segment {
            out.push(("aws.dynamodb.segment", Int(clamp(v))));
        }
        if let Some(v) = self.total_segments {
            out.push(("aws.dynamodb.total_segments", Int(clamp(v))));
        }
        if let Some(v) = self.count {
            out.push(("aws.dynamodb.count", Int(clamp(v))));
        }
        if let Some(v) = self.scanned_count {
            out.push(("aws.dynamodb.scanned_count", Int(clamp(v))));
        }
        if !self.consumed_capacity.is_empty() {
            out.push((
                "aws.dynamodb.consumed_capacity",
                StrArray(self.consumed_capacity.iter().map(capacity_json).collect()),
            ));
        }
        if let Some(v) = &self.request_id {
            out.push(("aws.request_id", Str(v.clone())));
        }
        if self.status != 0 {
            out.push(("http.response.status_code", Int(i64::from(self.status))));
        }
        if let Some(e) = self.error_type() {
            out.push(("error.type", Str(e)));
        }
        if let Some(e) = &self.error {
            if let Some(m) = &e.message {
                out.push(("db.response.status_message", Str(m.clone())));
            }
        }
        out
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A `ConsumedCapacity` entry re-rendered as JSON, the form the OTel
/// convention records (`aws.dynamodb.consumed_capacity` is string[]).
fn capacity_json(c: &CapacityUse) -> String {
    let mut s = String::from("{");
    let mut sep = "";
    if let Some(t) = &c.table {
        let _ = write!(s, "\"TableName\":{}", json_string(t));
        sep = ",";
    }
    for (key, value) in [
        ("CapacityUnits", c.capacity_units),
        ("ReadCapacityUnits", c.read_units),
        ("WriteCapacityUnits", c.write_units),
    ] {
        if let Some(v) = value {
            let _ = write!(s, "{sep}\"{key}\":{v}");
            sep = ",";
        }
    }
    for (key, value) in [
        ("Table", c.table_units),
        ("GlobalSecondaryIndexes", c.gsi_units),
        ("LocalSecondaryIndexes", c.lsi_units),
    ] {
        if let Some(v) = value {
            let _ = write!(s, "{sep}\"{key}\":{{\"CapacityUnits\":{v}}}");
            sep = ",";
        }
    }
    if !c.partitions.is_empty() {
        let _ = write!(s, "{sep}\"Partitions\":{{");
        for (i, p) in c.partitions.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(s, "{comma}{}:{}", json_string(&p.id), p.capacity_units);
        }
        s.push('}');
    }
    s.push('}');
    s
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_lists() {
        assert_eq!(operation_label("GetItem"), "GetItem");
        assert_eq!(operation_label("TransactWriteItems"), "TransactWriteItems");
        assert_eq!(operation_label("getitem"), "_OTHER");
        assert_eq!(operation_label("DropEverything"), "_OTHER");
        assert_eq!(
            error_label("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"),
            "ConditionalCheckFailedException"
        );
        assert_eq!(
            error_label("com.amazon.coral.validate#ValidationException"),
            "ValidationException"
        );
        assert_eq!(error_label("ThrottlingException"), "ThrottlingException");
        assert_eq!(error_label("a#b#SomethingNew"), "_OTHER");
        assert_eq!(error_label(""), "_OTHER");
        assert!(is_throttle(error_label(
            "x#ProvisionedThroughputExceededException"
        )));
        for list in [OPERATIONS, ERRORS] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len());
        }
    }

    #[test]
    fn capacity_renders_as_json() {
        let c = CapacityUse {
            table: Some("T\"1".to_owned()),
            capacity_units: Some(1.5),
            gsi_units: Some(0.5),
            ..CapacityUse::default()
        };
        assert_eq!(
            capacity_json(&c),
            r#"{"TableName":"T\"1","CapacityUnits":1.5,"GlobalSecondaryIndexes":{"CapacityUnits":0.5}}"#
        );
        let c = CapacityUse {
            capacity_units: Some(2.0),
            partitions: vec![PartitionUse {
                id: "p1".to_owned(),
                capacity_units: 1.0,
            }],
            ..CapacityUse::default()
        };
        assert_eq!(
            capacity_json(&c),
            r#"{"CapacityUnits":2,"Partitions":{"p1":1}}"#
        );
        let p = PartitionUse {
            id: "2bc1df0c-aa10-4e7e-9f1a-c0ffee7654321".to_owned(),
            capacity_units: 1.0,
        };
        assert_eq!(p.label(), "7654321");
        let p = PartitionUse {
            id: "é1".to_owned(),
            capacity_units: 1.0,
        };
        assert_eq!(p.label(), "é1");
    }
}
