//! Recording DynamoDB calls against a scope (listener × cluster).
//!
//! Tables come off the wire: each scope keeps a [`HandleTable`] from the raw
//! table name to its handles, capped by the listener's
//! `label_limits.collections`. Operations and error types are closed lists,
//! so below a table the handles are plain arrays indexed by position and
//! created on first use. Recording a call is lookups and atomic adds; the
//! only allocations are on the rare paths (a table's first call, a
//! partition id, an unreadable body).
//!
//! A batch or transaction touches several tables: its duration is recorded
//! once per table it names, so "operations on table T" counts every call
//! that touched T, as Envoy's dynamo filter does.
use super::families::Families;
use super::handle_table::HandleTable;
use super::label_cap::{LabelCap, OTHER};
use super::status_slots::{self, INCOMPLETE};
use periscope_parsers::dynamodb::{is_throttle, DynamoCall, ERRORS, OPERATIONS};
use periscope_parsers::Outcome;
use prometheus::{Counter, Histogram, IntCounter};
use std::sync::{Arc, OnceLock};

/// Operation slots: the closed list, then `_OTHER`.
const OPS: usize = OPERATIONS.len() + 1;
/// Outcome slots: success, incomplete, each known error, `_OTHER` error,
/// then a failure without an error body, by HTTP status slot.
const OK: usize = 0;
const INCOMPLETE_SLOT: usize = 1;
const ERROR_BASE: usize = 2;
const OTHER_ERROR: usize = ERROR_BASE + ERRORS.len();
const STATUS_BASE: usize = OTHER_ERROR + 1;
const OUTCOMES: usize = STATUS_BASE + status_slots::SLOTS;

/// Operations whose `CapacityUnits` are read units (the rest write), for
/// responses that do not split them.
const READS: [&str; 5] = [
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
];

/// Most distinct partition labels per listener: partition ids only come
/// from DynamoDB itself, but a hostile upstream could invent them.
pub const PARTITION_LABELS: usize = 1000;

/// A listener's caps on DynamoDB labels taken from traffic, shared by every
/// scope of the listener.
pub struct DynamoLabels {
    pub tables: LabelCap,
    pub partitions: LabelCap,
}

impl DynamoLabels {
    pub fn new(families: &Families, tables: usize) -> DynamoLabels {
        let overflow = |metric: &str| families.label_overflow.with_label_values(&[metric]);
        DynamoLabels {
            tables: LabelCap::new(tables, overflow("db_collection_name")),
            partitions: LabelCap::new(PARTITION_LABELS, overflow("partition")),
        }
    }
}

pub struct DynamoScope {
    families: Arc<Families>,
    listener: String,
    cluster: String,
    labels: Arc<DynamoLabels>,
    tables: HandleTable<TableHandles>,
    /// Calls that name no table (ListTables, PartiQL).
    no_table: OnceLock<Arc<TableHandles>>,
    /// Unprocessed items and keys, per operation.
    unprocessed: Box<[OnceLock<[IntCounter; 2]>]>,
}

struct TableHandles {
    label: Arc<str>,
    operations: Box<[OnceLock<Box<OperationHandles>>]>,
}

struct OperationHandles {
    durations: Box<[OnceLock<Histogram>]>,
    read_units: Counter,
    write_units: Counter,
    throttles: IntCounter,
    batch_items: Histogram,
}

impl DynamoScope {
    pub fn new(
        families: Arc<Families>,
        labels: Arc<DynamoLabels>,
        listener: &str,
        cluster: &str,
    ) -> DynamoScope {
        DynamoScope {
            families,
            listener: listener.to_owned(),
            cluster: cluster.to_owned(),
            labels,
            tables: HandleTable::default(),
            no_table: OnceLock::new(),
            unprocessed: (0..OPS).map(|_| OnceLock::new()).collect(),
        }
    }

    pub fn record(&self, call: &DynamoCall, outcome: Outcome, seconds: f64) {
        let op = OPERATIONS
            .iter()
            .position(|o| *o == call.operation_label)
            .unwrap_or(OPERATIONS.len());
        let slot = outcome_slot(call, outcome);
        let throttled = call
            .error
            .as_ref()
            .is_some_and(|e| is_throttle(e.type_label));
        let single = |name: Option<&str>, items: u32| {
            let table = self.table(name);
            if &*table.label == OTHER {
                self.labels.tables.count_overflow();
            }
            let handles = self.operation(&table, op);
            if let Some(cell) = handles.durations.get(slot) {
                cell.get_or_init(|| self.duration(&table.label, op, slot))
                    .observe(seconds);
            }
            if items > 0 {
                handles.batch_items.observe(f64::from(items));
            }
            if throttled {
                handles.throttles.inc();
            }
        };
        if call.tables.is_empty() {
            single(None, 0);
        }
        for table in &call.tables {
            single(Some(&table.name), table.items);
        }
        self.capacity(call, op);
        self.count_unprocessed(call, op);
        self.body_issues(call);
    }

    fn table(&self, name: Option<&str>) -> Arc<TableHandles> {
        let create = |label| TableHandles {
            label,
            operations: (0..OPS).map(|_| OnceLock::new()).collect(),
        };
        match name {
            None => self
                .no_table
                .get_or_init(|| Arc::new(create(Arc::from(""))))
                .clone(),
            Some(raw) => self.tables.get(raw, &self.labels.tables, create),
        }
    }

    fn operation<'t>(&self, table: &'t TableHandles, op: usize) -> &'t OperationHandles {
        table.operations[op.min(OPS - 1)].get_or_init(|| {
            let dynamo = &self.families.dynamo;
            let per_table = [self.listener.as_str(), op_label(op), &*table.label];
            let capacity = |kind: &str| {
                dynamo.consumed_capacity.with_label_values(&[
                    self.listener.as_str(),
                    op_label(op),
                    &table.label,
                    kind,
                ])
            };
            Box::new(OperationHandles {
                durations: (0..OUTCOMES).map(|_| OnceLock::new()).collect(),
                read_units: capacity("read"),
                write_units: capacity("write"),
                throttles: dynamo.throttles.with_label_values(&per_table),
                batch_items: dynamo.batch_items.with_label_values(&per_table),
            })
        })
    }

    fn duration(&self, table: &str, op: usize, slot: usize) -> Histogram {
        let error_type = match slot {
            OK => "",
            INCOMPLETE_SLOT => INCOMPLETE,
            OTHER_ERROR => OTHER,
            s if s < OTHER_ERROR => ERRORS[s - ERROR_BASE],
            s => status_slots::status_label(s - STATUS_BASE),
        };
        self.families.mongo.operation_duration.with_label_values(&[
            self.listener.as_str(),
            self.cluster.as_str(),
            "aws.dynamodb",
            op_label(op),
            table,
            "",
            "",
            error_type,
        ])
    }

    /// Units by table and read/write; partitions where DynamoDB named them.
    fn capacity(&self, call: &DynamoCall, op: usize) {
        let read_op = READS.contains(&op_label(op));
        for used in &call.consumed_capacity {
            let name = used.table.as_deref().or_else(|| call.collection_name());
            let table = self.table(name);
            let handles = self.operation(&table, op);
            let (read, write) = match (used.read_units, used.write_units) {
                (None, None) => {
                    let units = used.capacity_units.unwrap_or(0.0);
                    if read_op {
                        (units, 0.0)
                    } else {
                        (0.0, units)
                    }
                }
                (r, w) => (r.unwrap_or(0.0), w.unwrap_or(0.0)),
            };
            // Counters only go up: a hostile negative is dropped.
            if read > 0.0 {
                handles.read_units.inc_by(read);
            }
            if write > 0.0 {
                handles.write_units.inc_by(write);
            }
            for partition in &used.partitions {
                let label = self.labels.partitions.resolve(partition.label());
                if &*label == OTHER {
                    self.labels.partitions.count_overflow();
                }
                if partition.capacity_units > 0.0 {
                    self.families
                        .dynamo
                        .partition_capacity
                        .with_label_values(&[self.listener.as_str(), &table.label, &label])
                        .inc_by(partition.capacity_units);
                }
            }
        }
    }

    /// Batch operations always touch their counters (a zero is an answer:
    /// "nothing left unprocessed"); others only when DynamoDB said so.
    fn count_unprocessed(&self, call: &DynamoCall, op: usize) {
        let batch = matches!(op_label(op), "BatchWriteItem" | "BatchGetItem");
        if !batch && call.unprocessed_items == 0 && call.unprocessed_keys == 0 {
            return;
        }
        let [items, keys] = self.unprocessed[op.min(OPS - 1)].get_or_init(|| {
            let family = &self.families.dynamo.unprocessed;
            let listener = self.listener.as_str();
            [
                family.with_label_values(&[listener, op_label(op), "items"]),
                family.with_label_values(&[listener, op_label(op), "keys"]),
            ]
        });
        items.inc_by(u64::from(call.unprocessed_items));
        keys.inc_by(u64::from(call.unprocessed_keys));
    }

    /// Rare by nature: resolved on use.
    fn body_issues(&self, call: &DynamoCall) {
        let count = |direction: &str, reason: &str| {
            self.families
                .dynamo
                .body_issues
                .with_label_values(&[self.listener.as_str(), direction, reason])
                .inc();
        };
        for (direction, truncated, issue) in [
            ("request", call.request_truncated, call.request_json),
            ("response", call.response_truncated, call.response_json),
        ] {
            if truncated {
                count(direction, "truncated");
            } else if let Some(issue) = issue {
                count(direction, issue.as_str());
            }
        }
        if call.crc32_mismatch {
            count("response", "crc32_mismatch");
        }
    }
}

fn op_label(op: usize) -> &'static str {
    OPERATIONS.get(op).copied().unwrap_or(OTHER)
}

fn outcome_slot(call: &DynamoCall, outcome: Outcome) -> usize {
    if outcome == Outcome::Incomplete || call.status == 0 {
        return INCOMPLETE_SLOT;
    }
    match &call.error {
        Some(e) => ERRORS
            .iter()
            .position(|known| *known == e.type_label)
            .map_or(OTHER_ERROR, |i| ERROR_BASE + i),
        None if call.status >= 400 => STATUS_BASE + status_slots::slot(Some(call.status)),
        None => OK,
    }
}

#[cfg(test)]
#[path = "dynamo_tests.rs"]
mod tests;
