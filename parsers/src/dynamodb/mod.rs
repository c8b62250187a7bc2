//! DynamoDB: a sans-IO *refiner* over HTTP exchanges.
//!
//! DynamoDB speaks JSON over HTTP/1.1 (`POST /`, `X-Amz-Target:
//! DynamoDB_20120810.<Operation>`, `Content-Type: application/x-amz-json-1.0`).
//! The HTTP parsers already produce the exchange; this module reads what
//! DynamoDB adds on top from the request and response *body prefixes* the
//! runtime observed while forwarding, and returns a [`DynamoCall`].
//!
//! Shape, and why:
//! - [`is_dynamodb`] decides from the request headers alone, so the runtime
//!   only starts keeping body prefixes for DynamoDB requests.
//! - [`BodyPrefix`] is the bounded observer the runtime feeds each body's
//!   chunks into as they stream by (it never holds more than its cap, and
//!   keeps a running CRC-32 of the *whole* body, so `x-amz-crc32` can be
//!   verified even when the prefix was cut).
//! - [`DynamoRefiner::request`] reads the request once its body has ended (or
//!   hit the cap); [`DynamoRefiner::response`] /
//!   [`DynamoRefiner::response_streamed`] consume the refiner with the
//!   response and return the finished [`DynamoCall`]. A request whose response
//!   never comes ends with [`DynamoRefiner::without_response`]. Two steps
//!   rather than one function because the request and response are seen at
//!   different times and the request buffer can be released after step one.
//! - JSON is read by the tolerant scanner in [`json`]: a prefix cut mid-value
//!   keeps every field read before the cut and reports
//!   [`JsonIssue::EndedEarly`]; malformed JSON is reported with a reason and
//!   the HTTP-level telemetry is unaffected.

pub mod event;
pub mod json;

#[cfg(test)]
pub(crate) mod tests;

pub use event::{
    error_label, is_throttle, operation_label, CapacityUse, DynamoAttrValue, DynamoCall,
    DynamoError, JsonIssue, PartitionUse, TableUse, ERRORS, OPERATIONS,
};

use event::{
    MAX_CAPACITY_ENTRIES, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_PARTITIONS,
    MAX_PARTITION_ID_CHARS, MAX_REQUEST_ID_CHARS, MAX_TABLES,
};
use json::{Kind, Result, Scanner};

/// The `X-Amz-Target` prefix of the DynamoDB API.
pub const TARGET_PREFIX: &[u8] = b"DynamoDB_20120810.";
/// The content type of the AWS JSON 1.0 protocol.
pub const CONTENT_TYPE: &[u8] = b"application/x-amz-json-1.0";
/// Default cap on the body prefix kept per body.
pub const DEFAULT_BODY_PREFIX: usize = 1 << 20;
/// Longest operation name kept.
const MAX_OPERATION_CHARS: usize = 64;
/// Longest short enum-like string kept (`Select`, `ReturnConsumedCapacity`).
const MAX_ENUM_CHARS: usize = 64;

/// Whether request headers say DynamoDB: `X-Amz-Target` must start with
/// `DynamoDB_20120810.` (DynamoDB Streams, SQS and others share the content
/// type, so the target decides); a `Content-Type`, when present, must be
/// `application/x-amz-json-1.0` (parameters allowed).
pub fn is_dynamodb(target_header: Option<&[u8]>, content_type: Option<&[u8]>) -> bool {
    let Some(target) = target_header else {
        return false;
    };
    if !starts_with_ignore_case(trim(target), TARGET_PREFIX) {
        return false;
    }
    match content_type {
        None => true,
        Some(ct) => {
            let ct = trim(ct);
            let media = ct.split(|&b| b == b';').next().unwrap_or_default();
            trim(media).eq_ignore_ascii_case(CONTENT_TYPE)
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn starts_with_ignore_case(hay: &[u8], prefix: &[u8]) -> bool {
    hay.len() >= prefix.len() && hay[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A bounded body observer: feed every chunk as it is forwarded; it keeps the
/// first `cap` bytes, counts the rest, and keeps a CRC-32 (IEEE) of all of it.
#[derive(Debug)]
pub struct BodyPrefix {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
    crc: flate2::Crc,
}

impl BodyPrefix {
    pub fn new(cap: usize) -> BodyPrefix {
        BodyPrefix {
            buf: Vec::new(),
            cap,
            total: 0,
            crc: flate2::Crc::new(),
        }
    }

    /// Observes the next chunk of the body (never held beyond the cap).
    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.total = self.total.saturating_add(chunk.len() as u64);
        self.crc.update(chunk);
    }

    /// The bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether the body was longer than the cap.
    pub fn truncated(&self) -> bool {
        self.total > self.buf.len() as u64
    }

    /// Total body length seen.
    pub fn total_len(&self) -> u64 {
        self.total
    }

    /// CRC-32 (IEEE) of the whole body seen, kept bytes or not.
    pub fn crc32(&self) -> u32 {
        self.crc.sum()
    }
}

/// CRC-32 (IEEE), as DynamoDB's `x-amz-crc32` uses.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// Reads one DynamoDB call: request first, then the response.
#[derive(Debug, Clone)]
pub struct DynamoRefiner {
    call: DynamoCall,
}

impl DynamoRefiner {
    /// Reads the request: `target` is the `X-Amz-Target` value, `body_prefix`
    /// the kept prefix of the body, `truncated` whether the body went on past
    /// it.
    pub fn request(target: &[u8], body_prefix: &[u8], truncated: bool) -> DynamoRefiner {
        let mut call = DynamoCall {
            operation_label: "_OTHER",
            request_truncated: truncated,
            ..DynamoCall::default()
        };
        let target = trim(target);
        if starts_with_ignore_case(target, TARGET_PREFIX) {
            let name = json::unescape(&target[TARGET_PREFIX.len()..], MAX_OPERATION_CHARS);
            call.operation_label = operation_label(&name);
            call.operation = Some(name);
        }
        if let Err(stop) = read_request(&mut call, body_prefix) {
            call.request_json = Some(stop.into());
        }
        DynamoRefiner { call }
    }

    /// The request body was sent with a `Content-Encoding`: its JSON was not
    /// read.
    pub fn mark_request_encoded(&mut self) {
        self.call.request_json = Some(JsonIssue::Encoded);
    }

    /// What the request said so far.
    pub fn call(&self) -> &DynamoCall {
        &self.call
    }

    /// The call when no response came (connection closed, timeout).
    pub fn without_response(self) -> DynamoCall {
        self.call
    }

    /// Reads the response and finishes the call. `x-amz-crc32` is checked
    /// only when the body is whole (`truncated == false`); use
    /// [`DynamoRefiner::response_streamed`] to check it on cut bodies too.
    pub fn response<'h, I>(
        self,
        status: u16,
        headers: I,
        body_prefix: &[u8],
        truncated: bool,
    ) -> DynamoCall
    where
        I: IntoIterator<Item = (&'h [u8], &'h [u8])>,
    {
        let crc = (!truncated).then(|| crc32(body_prefix));
        self.finish(status, headers, body_prefix, truncated, crc)
    }

    /// As [`DynamoRefiner::response`], from a [`BodyPrefix`] whose running
    /// CRC covers the whole body.
    pub fn response_streamed<'h, I>(self, status: u16, headers: I, body: &BodyPrefix) -> DynamoCall
    where
        I: IntoIterator<Item = (&'h [u8], &'h [u8])>,
    {
        self.finish(
            status,
            headers,
            body.bytes(),
            body.truncated(),
            Some(body.crc32()),
        )
    }

    fn finish<'h, I>(
        mut self,
        status: u16,
        headers: I,
        body: &[u8],
        truncated: bool,
        body_crc: Option<u32>,
    ) -> DynamoCall
    where
        I: IntoIterator<Item = (&'h [u8], &'h [u8])>,
    {
        let call = &mut self.call;
        call.status = status;
        call.response_truncated = truncated;
        let mut encoded = false;
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(b"x-amzn-requestid")
                || (call.request_id.is_none() && name.eq_ignore_ascii_case(b"x-amz-request-id"))
            {
                call.request_id = Some(json::unescape(trim(value), MAX_REQUEST_ID_CHARS));
            } else if name.eq_ignore_ascii_case(b"x-amz-crc32") {
                call.crc32 = std::str::from_utf8(trim(value))
                    .ok()
                    .and_then(|v| v.parse::<u32>().ok());
            } else if name.eq_ignore_ascii_case(b"content-encoding") {
                let v = trim(value);
                encoded = !v.is_empty() && !v.eq_ignore_ascii_case(b"identity");
            }
        }
        if let (Some(sent), Some(actual)) = (call.crc32, body_crc) {
            call.crc32_checked = true;
            call.crc32_mismatch = sent != actual;
        }
        if encoded {
            call.response_json = Some(JsonIssue::Encoded);
        } else if !body.is_empty() || status < 400 {
            if let Err(stop) = read_response(call, body) {
                call.response_json = Some(stop.into());
            }
        }
        self.call
    }
}

// ---- request -------------------------------------------------------------

fn add_table(call: &mut DynamoCall, name: String, items: u32) -> Option<usize> {
    if let Some(i) = call.tables.iter().position(|t| t.name == name) {
        call.tables[i].items = call.tables[i].items.saturating_add(items);
        return Some(i);
    }
    if call.tables.len() >= MAX_TABLES {
        call.tables_dropped = call.tables_dropped.saturating_add(1);
        return None;
    }
    call.tables.push(TableUse { name, items });
    Some(call.tables.len() - 1)
}

fn opt_string(s: &mut Scanner<'_>, max: usize) -> Result<Option<String>> {
    if s.peek()? == Kind::String {
        s.string(max).map(Some)
    } else {
        s.skip_value().map(|()| None)
    }
}

fn opt_u64(s: &mut Scanner<'_>) -> Result<Option<u64>> {
    if s.peek()? == Kind::Number {
        s.u64()
    } else {
        s.skip_value().map(|()| None)
    }
}

/// A finite number (`1e999` would be infinite: dropped, so that sums and
/// the JSON rendering stay finite).
fn opt_f64(s: &mut Scanner<'_>) -> Result<Option<f64>> {
    if s.peek()? == Kind::Number {
        s.f64().map(|v| v.is_finite().then_some(v))
    } else {
        s.skip_value().map(|()| None)
    }
}

fn opt_bool(s: &mut Scanner<'_>) -> Result<Option<bool>> {
    if s.peek()? == Kind::Bool {
        s.bool().map(Some)
    } else {
        s.skip_value().map(|()| None)
    }
}

fn read_request(call: &mut DynamoCall, body: &[u8]) -> Result<()> {
    let mut s = Scanner::new(body);
    if s.at_end() {
        return Ok(()); // no body: nothing to read, nothing wrong
    }
    s.begin_object()?;
    let mut first = true;
    while let Some(key) = s.next_key(&mut first)? {
        match key {
            b"TableName" => {
                if let Some(name) = opt_string(&mut s, MAX_NAME_CHARS)? {
                    add_table(call, name, 0);
                }
            }
            b"IndexName" => call.index_name = opt_string(&mut s, MAX_NAME_CHARS)?,
            b"Limit" => call.limit = opt_u64(&mut s)?,
            b"Select" => call.select = opt_string(&mut s, MAX_ENUM_CHARS)?,
            b"ConsistentRead" => call.consistent_read = opt_bool(&mut s)?,
            b"ReturnConsumedCapacity" => {
                call.return_consumed_capacity = opt_string(&mut s, MAX_ENUM_CHARS)?
            }
            b"Segment" => call.segment = opt_u64(&mut s)?,
            b"TotalSegments" => call.total_segments = opt_u64(&mut s)?,
            b"RequestItems" => read_request_items(call, &mut s)?,
            b"TransactItems" => read_transact_items(call, &mut s)?,
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// Items named per table in a `RequestItems`-shaped map: an array value
/// (BatchWriteItem) counts its elements, an object value (BatchGetItem)
/// counts its `Keys`. Tables are added as soon as their name is read, and
/// their count grows as complete items are skipped.
fn read_request_items(call: &mut DynamoCall, s: &mut Scanner<'_>) -> Result<()> {
    if s.peek()? != Kind::Object {
        return s.skip_value();
    }
    s.begin_object()?;
    let mut first = true;
    while let Some(raw) = s.next_key(&mut first)? {
        let name = json::unescape(raw, MAX_NAME_CHARS);
        let slot = add_table(call, name, 0);
        let mut n = 0;
        let result = count_table_items(s, &mut n);
        if let Some(i) = slot {
            call.tables[i].items = call.tables[i].items.saturating_add(n);
        }
        result?;
    }
    Ok(())
}

/// `[...]` → its length; `{"Keys": [...], ...}` → the length of `Keys`.
fn count_table_items(s: &mut Scanner<'_>, n: &mut u32) -> Result<()> {
    match s.peek()? {
        Kind::Array => s.count_members(n),
        Kind::Object => {
            s.begin_object()?;
            let mut first = true;
            while let Some(key) = s.next_key(&mut first)? {
                if key == b"Keys" {
                    s.count_members(n)?;
                } else {
                    s.skip_value()?;
                }
            }
            Ok(())
        }
        _ => s.skip_value(),
    }
}

/// `TransactItems[].{ConditionCheck,Put,Delete,Update,Get}.TableName`: each
/// transact item counts as one item on its table.
fn read_transact_items(call: &mut DynamoCall, s: &mut Scanner<'_>) -> Result<()> {
    if s.peek()? != Kind::Array {
        return s.skip_value();
    }
    s.begin_array()?;
    let mut first = true;
    while s.next_element(&mut first)? {
        if s.peek()? != Kind::Object {
            s.skip_value()?;
            continue;
        }
        s.begin_object()?;
        let mut first_action = true;
        while let Some(action) = s.next_key(&mut first_action)? {
            let known = matches!(
                action,
                b"ConditionCheck" | b"Put" | b"Delete" | b"Update" | b"Get"
            );
            if !known || s.peek()? != Kind::Object {
                s.skip_value()?;
                continue;
            }
            s.begin_object()?;
            let mut first_field = true;
            while let Some(field) = s.next_key(&mut first_field)? {
                if field == b"TableName" {
                    if let Some(name) = opt_string(s, MAX_NAME_CHARS)? {
                        add_table(call, name, 1);
                    }
                } else {
                    s.skip_value()?;
                }
            }
        }
    }
    Ok(())
}

// ---- response ------------------------------------------------------------

fn read_response(call: &mut DynamoCall, body: &[u8]) -> Result<()> {
    let mut type_name: Option<String> = None;
    let mut message: Option<String> = None;
    let result = read_response_fields(call, body, &mut type_name, &mut message);
    if let Some(name) = type_name {
        let short = name.rsplit('#').next().unwrap_or(&name).to_owned();
        call.error = Some(DynamoError {
            type_label: error_label(&name),
            type_name: short,
            message,
        });
    }
    result
}

fn read_response_fields(
    call: &mut DynamoCall,
    body: &[u8],
    type_name: &mut Option<String>,
    message: &mut Option<String>,
) -> Result<()> {
    let mut s = Scanner::new(body);
    if s.at_end() {
        return Ok(());
    }
    s.begin_object()?;
    let mut first = true;
    while let Some(key) = s.next_key(&mut first)? {
        match key {
            b"__type" => *type_name = opt_string(&mut s, MAX_NAME_CHARS)?,
            b"message" | b"Message" => *message = opt_string(&mut s, MAX_MESSAGE_CHARS)?,
            b"ConsumedCapacity" => match s.peek()? {
                Kind::Array => {
                    s.begin_array()?;
                    let mut first_entry = true;
                    while s.next_element(&mut first_entry)? {
                        read_capacity(call, &mut s)?;
                    }
                }
                _ => read_capacity(call, &mut s)?,
            },
            b"Count" => call.count = opt_u64(&mut s)?,
            b"ScannedCount" => call.scanned_count = opt_u64(&mut s)?,
            b"UnprocessedItems" => {
                call.unprocessed_present = true;
                read_unprocessed(&mut s, &mut call.unprocessed_items)?;
            }
            b"UnprocessedKeys" => {
                call.unprocessed_present = true;
                read_unprocessed(&mut s, &mut call.unprocessed_keys)?;
            }
            b"ItemCollectionMetrics" => {
                call.item_collection_metrics_present = true;
                s.skip_value()?;
            }
            _ => s.skip_value()?,
        }
    }
    Ok(())
}

/// `{table: [...]}` or `{table: {"Keys": [...]}}`: items over all tables.
fn read_unprocessed(s: &mut Scanner<'_>, total: &mut u32) -> Result<()> {
    if s.peek()? != Kind::Object {
        return s.skip_value();
    }
    s.begin_object()?;
    let mut first = true;
    while s.next_key(&mut first)?.is_some() {
        count_table_items(s, total)?;
    }
    Ok(())
}

/// One `ConsumedCapacity` object; kept only when read to its end.
fn read_capacity(call: &mut DynamoCall, s: &mut Scanner<'_>) -> Result<()> {
    if s.peek()? != Kind::Object {
        return s.skip_value();
    }
    let mut c = CapacityUse::default();
    s.begin_object()?;
    let mut first = true;
    while let Some(key) = s.next_key(&mut first)? {
        match key {
            b"TableName" => c.table = opt_string(s, MAX_NAME_CHARS)?,
            b"CapacityUnits" => c.capacity_units = opt_f64(s)?,
            b"ReadCapacityUnits" => c.read_units = opt_f64(s)?,
            b"WriteCapacityUnits" => c.write_units = opt_f64(s)?,
            b"Table" => c.table_units = read_units(s)?,
            b"GlobalSecondaryIndexes" => c.gsi_units = sum_index_units(s)?,
            b"LocalSecondaryIndexes" => c.lsi_units = sum_index_units(s)?,
            b"Partitions" => read_partitions(s, &mut c.partitions)?,
            _ => s.skip_value()?,
        }
    }
    if call.consumed_capacity.len() < MAX_CAPACITY_ENTRIES {
        call.consumed_capacity.push(c);
    }
    Ok(())
}

/// `{"CapacityUnits": n, ...}` → n.
fn read_units(s: &mut Scanner<'_>) -> Result<Option<f64>> {
    if s.peek()? != Kind::Object {
        return s.skip_value().map(|()| None);
    }
    let mut units = None;
    s.begin_object()?;
    let mut first = true;
    while let Some(key) = s.next_key(&mut first)? {
        if key == b"CapacityUnits" {
            units = opt_f64(s)?;
        } else {
            s.skip_value()?;
        }
    }
    Ok(units)
}

/// `{index: {"CapacityUnits": n}, ...}` → the sum of n.
fn sum_index_units(s: &mut Scanner<'_>) -> Result<Option<f64>> {
    if s.peek()? != Kind::Object {
        return s.skip_value().map(|()| None);
    }
    let mut sum = None;
    s.begin_object()?;
    let mut first = true;
    while s.next_key(&mut first)?.is_some() {
        if let Some(u) = read_units(s)? {
            sum = Some(sum.unwrap_or(0.0) + u);
        }
    }
    Ok(sum)
}

/// `{partition id: units, ...}` (Envoy's per-partition view).
fn read_partitions(s: &mut Scanner<'_>, out: &mut Vec<PartitionUse>) -> Result<()> {
    if s.peek()? != Kind::Object {
        return s.skip_value();
    }
    s.begin_object()?;
    let mut first = true;
    while let Some(raw) = s.next_key(&mut first)? {
        if let Some(units) = opt_f64(s)? {
            if out.len() < MAX_PARTITIONS {
                out.push(PartitionUse {
                    id: json::unescape(raw, MAX_PARTITION_ID_CHARS),
                    capacity_units: units,
                });
            }
        }
    }
    Ok(())
}
