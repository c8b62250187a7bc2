//! Recording MongoDB operations.
//!
//! `MongoTelemetry` lives per listener; `MongoCache` lives per connection
//! (in the L4 tap) and remembers the histogram handles it resolved, keyed by
//! the raw names it saw. After a connection's first operation on a
//! collection, recording is map lookups on borrowed `&str`s and atomic adds:
//! no allocation, no shared lock. Drivers keep connections pooled, so this
//! is the common case.
use super::families::Families;
use super::label_cap::{LabelCap, OTHER};
use crate::config::LabelLimits;
use periscope_parsers::mongodb::{CommandKind, Compressor, MongoExchange, OpCode};
use periscope_parsers::Exchange;
use prometheus::{Histogram, IntCounter};
use std::cell::OnceCell;
use std::collections::HashMap;

/// SipHash cost more than the rest of a lookup. Keys are names from
/// traffic, but every map is capped (`CACHED_*`): no choice of keys can
/// grow one into a flood, so a fast hash is safe.
type FastHash = foldhash::fast::RandomState;
use std::sync::{Arc, OnceLock};

/// Bounds on one connection's cache; past them a level is simply cleared
/// (the listener-wide caps bound the labels themselves).
const CACHED_NAMESPACES: usize = 64;
const CACHED_COLLECTIONS: usize = 256;
const CACHED_OPERATIONS: usize = 64;

const DIRECTIONS: [&str; 2] = ["request", "reply"];

pub struct MongoTelemetry {
    listener: String,
    cluster: String,
    families: Arc<Families>,
    collections: LabelCap,
    namespaces: LabelCap,
    status_codes: LabelCap,
    messages: Box<[OnceLock<IntCounter>]>,
    compressed: Box<[OnceLock<IntCounter>]>,
    cursors_opened: IntCounter,
    cursors_exhausted: IntCounter,
    cursors_killed: IntCounter,
}

/// Per-connection memo of resolved handles.
#[derive(Default)]
pub struct MongoCache {
    namespaces: HashMap<Box<str>, NamespaceHandles, FastHash>,
    handshakes: Vec<(&'static str, IntCounter)>,
}

struct NamespaceHandles {
    label: Arc<str>,
    collections: HashMap<Box<str>, CollectionHandles, FastHash>,
}

struct CollectionHandles {
    label: Arc<str>,
    operations: Vec<OperationHandles>,
}

struct OperationHandles {
    command: &'static str,
    status: Status,
    duration: Histogram,
    documents: Histogram,
    /// Created by the first operation that sends documents: reads never
    /// export an empty series.
    request_documents: OnceCell<Histogram>,
    /// The collection label, for creating `request_documents` late.
    collection: Arc<str>,
    reply_size: Histogram,
    /// Which capped labels fell into `_OTHER`; counted on every observation.
    overflowed: Overflowed,
}

#[derive(Clone, Copy, Default)]
struct Overflowed {
    collection: bool,
    namespace: bool,
    status: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Failed(Option<i32>),
    Incomplete,
}

impl MongoTelemetry {
    pub fn new(
        families: Arc<Families>,
        listener: &str,
        cluster: &str,
        limits: LabelLimits,
    ) -> MongoTelemetry {
        let overflow = |metric: &str| families.label_overflow.with_label_values(&[metric]);
        let mongo = &families.mongo;
        let cursor = |event: &str| mongo.cursors.with_label_values(&[listener, event]);
        MongoTelemetry {
            collections: LabelCap::new(limits.collections, overflow("db_collection_name")),
            namespaces: LabelCap::new(limits.namespaces, overflow("db_namespace")),
            status_codes: LabelCap::new(limits.status_codes, overflow("db_response_status_code")),
            messages: (0..DIRECTIONS.len() * OpCode::ALL.len())
                .map(|_| OnceLock::new())
                .collect(),
            compressed: (0..DIRECTIONS.len() * Compressor::ALL.len())
                .map(|_| OnceLock::new())
                .collect(),
            cursors_opened: cursor("opened"),
            cursors_exhausted: cursor("exhausted"),
            cursors_killed: cursor("killed"),
            listener: listener.to_owned(),
            cluster: cluster.to_owned(),
            families,
        }
    }

    pub fn record(&self, cache: &mut MongoCache, exchange: &Exchange, mongo: &MongoExchange) {
        self.count_messages(mongo);
        if mongo.kind == CommandKind::Handshake {
            self.handshake(cache, mongo.command_label).inc();
            return;
        }
        self.count_cursor(mongo);
        let status = match (&mongo.reply, mongo.fire_and_forget) {
            (None, false) => Status::Incomplete,
            _ if mongo.failed() => Status::Failed(mongo.status_code()),
            _ => Status::Ok,
        };
        let handles = self.operation(cache, mongo, status);
        handles.duration.observe(exchange.duration_seconds());
        if mongo.request_documents > 0 {
            let sent = handles.request_documents.get_or_init(|| {
                let labels = [self.listener.as_str(), handles.command, &handles.collection];
                self.families
                    .mongo
                    .request_documents
                    .with_label_values(&labels)
            });
            sent.observe(mongo.request_documents as f64);
        }
        if mongo.reply.is_some() {
            let documents = mongo.reply.as_ref().map_or(0, |r| r.documents);
            handles.documents.observe(documents as f64);
            handles.reply_size.observe(exchange.response_bytes as f64);
        }
        let overflowed = handles.overflowed;
        for (cap, hit) in [
            (&self.collections, overflowed.collection),
            (&self.namespaces, overflowed.namespace),
            (&self.status_codes, overflowed.status),
        ] {
            if hit {
                cap.count_overflow();
            }
        }
    }

    fn count_messages(&self, mongo: &MongoExchange) {
        self.message(0, mongo.op_code).inc();
        if let Some(compressor) = mongo.compressor {
            self.compressed(0, compressor).inc();
        }
        if let Some(reply) = &mongo.reply {
            let count = u64::from(reply.messages);
            if let Some(op_code) = reply.op_code {
                self.message(1, op_code).inc_by(count);
            }
            if let Some(compressor) = reply.compressor {
                self.compressed(1, compressor).inc_by(count);
            }
        }
    }

    fn message(&self, direction: usize, op_code: OpCode) -> &IntCounter {
        let index = OpCode::ALL.iter().position(|o| *o == op_code).unwrap_or(0);
        let cell = &self.messages[direction * OpCode::ALL.len() + index];
        cell.get_or_init(|| {
            self.families.mongo.messages.with_label_values(&[
                self.listener.as_str(),
                DIRECTIONS[direction],
                op_code.as_str(),
            ])
        })
    }

    fn compressed(&self, direction: usize, compressor: Compressor) -> &IntCounter {
        let index = Compressor::ALL
            .iter()
            .position(|c| *c == compressor)
            .unwrap_or(0);
        let cell = &self.compressed[direction * Compressor::ALL.len() + index];
        cell.get_or_init(|| {
            self.families.mongo.compressed_messages.with_label_values(&[
                self.listener.as_str(),
                DIRECTIONS[direction],
                compressor.as_str(),
            ])
        })
    }

    fn count_cursor(&self, mongo: &MongoExchange) {
        let cursor_id = mongo.reply.as_ref().and_then(|r| r.cursor_id);
        match (mongo.command_label, cursor_id) {
            ("killCursors", _) => self.cursors_killed.inc(),
            ("getMore", Some(0)) => self.cursors_exhausted.inc(),
            ("getMore", _) => {}
            (_, Some(id)) if id != 0 => self.cursors_opened.inc(),
            _ => {}
        }
    }

    fn handshake<'c>(&self, cache: &'c mut MongoCache, command: &'static str) -> &'c IntCounter {
        let position = cache.handshakes.iter().position(|(c, _)| *c == command);
        let index = match position {
            Some(index) => index,
            None => {
                let counter = self
                    .families
                    .mongo
                    .handshake_commands
                    .with_label_values(&[self.listener.as_str(), command]);
                cache.handshakes.push((command, counter));
                cache.handshakes.len() - 1
            }
        };
        &cache.handshakes[index].1
    }

    fn operation<'c>(
        &self,
        cache: &'c mut MongoCache,
        mongo: &MongoExchange,
        status: Status,
    ) -> &'c OperationHandles {
        let database = mongo.database.as_deref().unwrap_or("");
        let collection = mongo.collection.as_deref().unwrap_or("");
        if !cache.namespaces.contains_key(database) {
            if cache.namespaces.len() >= CACHED_NAMESPACES {
                cache.namespaces.clear();
            }
            let label = self.label(&self.namespaces, database);
            cache.namespaces.insert(
                Box::from(database),
                NamespaceHandles {
                    label,
                    collections: HashMap::default(),
                },
            );
        }
        let Some(namespace) = cache.namespaces.get_mut(database) else {
            unreachable!("inserted above");
        };
        if !namespace.collections.contains_key(collection) {
            if namespace.collections.len() >= CACHED_COLLECTIONS {
                namespace.collections.clear();
            }
            let label = self.label(&self.collections, collection);
            namespace.collections.insert(
                Box::from(collection),
                CollectionHandles {
                    label,
                    operations: Vec::new(),
                },
            );
        }
        let namespace_label = namespace.label.clone();
        let Some(handles) = namespace.collections.get_mut(collection) else {
            unreachable!("inserted above");
        };
        let found = handles
            .operations
            .iter()
            .position(|op| op.command == mongo.command_label && op.status == status);
        let index = match found {
            Some(index) => index,
            None => {
                if handles.operations.len() >= CACHED_OPERATIONS {
                    handles.operations.clear();
                }
                let created = self.create(
                    mongo.command_label,
                    &handles.label,
                    &namespace_label,
                    status,
                );
                handles.operations.push(created);
                handles.operations.len() - 1
            }
        };
        &handles.operations[index]
    }

    /// Empty means "none" and is not a value to cap.
    fn label(&self, cap: &LabelCap, raw: &str) -> Arc<str> {
        if raw.is_empty() {
            Arc::from("")
        } else {
            cap.resolve(raw)
        }
    }

    fn create(
        &self,
        command: &'static str,
        collection: &Arc<str>,
        namespace: &str,
        status: Status,
    ) -> OperationHandles {
        let status_label: Arc<str> = match status {
            Status::Failed(Some(code)) => self.status_codes.resolve(&code.to_string()),
            _ => Arc::from(""),
        };
        let error_type: &str = match status {
            Status::Ok => "",
            Status::Failed(Some(_)) => &status_label,
            Status::Failed(None) => OTHER,
            Status::Incomplete => "incomplete",
        };
        let mongo = &self.families.mongo;
        let duration = mongo.operation_duration.with_label_values(&[
            self.listener.as_str(),
            self.cluster.as_str(),
            "mongodb",
            command,
            collection,
            namespace,
            &status_label,
            error_type,
        ]);
        let per_operation = [self.listener.as_str(), command, collection];
        OperationHandles {
            command,
            status,
            duration,
            documents: mongo.reply_documents.with_label_values(&per_operation),
            request_documents: OnceCell::new(),
            collection: collection.clone(),
            reply_size: mongo.reply_size.with_label_values(&per_operation),
            overflowed: Overflowed {
                collection: &**collection == OTHER,
                namespace: namespace == OTHER,
                status: &*status_label == OTHER,
            },
        }
    }
}
