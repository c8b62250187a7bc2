//! What a MongoDB operation looks like once paired: the contract between the
//! MongoDB wire parser and the runtime's telemetry.
//!
//! Strings copied off the wire are bounded (`MAX_NAME` / `MAX_MESSAGE`);
//! values used as metric labels are either `&'static str` from closed lists
//! (`command_label`) or bounded by the runtime's per-listener caps.
use crate::event::AttrValue;

/// Longest database, collection or command name kept (MongoDB's own
/// namespace limit is 255 bytes).
pub const MAX_NAME: usize = 255;
/// Longest `errmsg` / `codeName` / query text kept.
pub const MAX_MESSAGE: usize = 512;

/// Wire opcodes (MongoDB wire protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    Reply,
    Update,
    Insert,
    Query,
    GetMore,
    Delete,
    KillCursors,
    Compressed,
    Msg,
}

impl OpCode {
    pub fn from_i32(code: i32) -> Option<OpCode> {
        Some(match code {
            1 => OpCode::Reply,
            2001 => OpCode::Update,
            2002 => OpCode::Insert,
            2004 => OpCode::Query,
            2005 => OpCode::GetMore,
            2006 => OpCode::Delete,
            2007 => OpCode::KillCursors,
            2012 => OpCode::Compressed,
            2013 => OpCode::Msg,
            _ => return None,
        })
    }

    /// Metric label, as MongoDB's documentation names them.
    pub fn as_str(self) -> &'static str {
        match self {
            OpCode::Reply => "OP_REPLY",
            OpCode::Update => "OP_UPDATE",
            OpCode::Insert => "OP_INSERT",
            OpCode::Query => "OP_QUERY",
            OpCode::GetMore => "OP_GET_MORE",
            OpCode::Delete => "OP_DELETE",
            OpCode::KillCursors => "OP_KILL_CURSORS",
            OpCode::Compressed => "OP_COMPRESSED",
            OpCode::Msg => "OP_MSG",
        }
    }

    pub const ALL: [OpCode; 9] = [
        OpCode::Reply,
        OpCode::Update,
        OpCode::Insert,
        OpCode::Query,
        OpCode::GetMore,
        OpCode::Delete,
        OpCode::KillCursors,
        OpCode::Compressed,
        OpCode::Msg,
    ];
}

/// OP_COMPRESSED compressor ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compressor {
    Noop,
    Snappy,
    Zlib,
    Zstd,
}

impl Compressor {
    pub fn from_id(id: u8) -> Option<Compressor> {
        Some(match id {
            0 => Compressor::Noop,
            1 => Compressor::Snappy,
            2 => Compressor::Zlib,
            3 => Compressor::Zstd,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compressor::Noop => "noop",
            Compressor::Snappy => "snappy",
            Compressor::Zlib => "zlib",
            Compressor::Zstd => "zstd",
        }
    }

    pub const ALL: [Compressor; 4] = [
        Compressor::Noop,
        Compressor::Snappy,
        Compressor::Zlib,
        Compressor::Zstd,
    ];
}

/// How telemetry treats a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// A database operation: goes to `db_client_operation_duration_seconds`.
    Operation,
    /// Handshake, heartbeat, auth and session housekeeping (`hello`,
    /// `isMaster`, `ismaster`, `ping`, `buildInfo`, `saslStart`,
    /// `saslContinue`, `authenticate`, `getnonce`, `endSessions`, ...):
    /// counted apart so they never pollute operation metrics.
    Handshake,
}

/// Session and transaction fields of a command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInfo {
    /// `lsid` was present.
    pub has_lsid: bool,
    pub txn_number: Option<i64>,
    pub start_transaction: bool,
    pub autocommit: Option<bool>,
}

/// What the reply (or replies) said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MongoReply {
    /// Opcode of the (first) reply: `Msg` or `Reply`.
    pub op_code: Option<OpCode>,
    /// Set when the reply came in OP_COMPRESSED.
    pub compressor: Option<Compressor>,
    /// Reply messages seen for this request (more than one for exhaust
    /// cursors and `moreToCome` streams).
    pub messages: u32,
    pub ok: bool,
    pub code: Option<i32>,
    pub code_name: Option<String>,
    pub errmsg: Option<String>,
    /// Number of entries in `writeErrors`.
    pub write_errors: u32,
    pub first_write_error_code: Option<i32>,
    pub write_concern_error_code: Option<i32>,
    pub n: Option<i64>,
    pub n_modified: Option<i64>,
    /// Number of entries in `upserted`.
    pub upserted: u32,
    /// Documents returned: `cursor.firstBatch` / `nextBatch` length, or
    /// OP_REPLY's `numberReturned`; summed over all reply messages.
    pub documents: u64,
    /// `cursor.id` of the last reply; `Some(0)` means the cursor is exhausted.
    pub cursor_id: Option<i64>,
}

/// One MongoDB operation: request and its reply (or replies).
#[derive(Debug, Clone, PartialEq)]
pub struct MongoExchange {
    /// Opcode of the request; the inner opcode when it came compressed.
    pub op_code: OpCode,
    /// Set when the request came in OP_COMPRESSED.
    pub compressor: Option<Compressor>,
    pub request_id: i32,
    /// The command as on the wire: first key of the body (OP_MSG, `$cmd`
    /// OP_QUERY), or the legacy opcode's operation (`insert`, `update`,
    /// `delete`, `getMore`, `killCursors`, `find` for an OP_QUERY on a
    /// collection). Bounded copy.
    pub command: String,
    /// `command` when it is a known MongoDB command, else `_OTHER`: safe as
    /// a metric label.
    pub command_label: &'static str,
    pub kind: CommandKind,
    /// `$db`, or the database part of a legacy namespace.
    pub database: Option<String>,
    /// For collection commands: the value of the first key (or `collection`
    /// for `getMore`), or the collection part of a legacy namespace.
    pub collection: Option<String>,
    pub session: SessionInfo,
    /// The request expects no reply (`moreToCome` from the client, legacy
    /// write opcodes): the exchange completes when the request is read.
    pub fire_and_forget: bool,
    /// `None` when no reply was seen (connection closed first, or
    /// fire-and-forget).
    pub reply: Option<MongoReply>,
    /// The command document as relaxed extended JSON, truncated to
    /// `MAX_MESSAGE`; only when the parser was built with query text on.
    pub query_text: Option<String>,
    /// Documents the request carried: OP_MSG kind-1 sequences
    /// (`documents` / `updates` / `deletes` / `ops`) plus the body's arrays
    /// of those names, or OP_INSERT's documents. Counted, never decoded.
    pub request_documents: u64,
}

impl MongoExchange {
    /// A failed operation for telemetry: `ok: 0`, or `ok: 1` with
    /// `writeErrors` or a `writeConcernError`.
    pub fn failed(&self) -> bool {
        self.reply.as_ref().is_some_and(|reply| {
            !reply.ok || reply.write_errors > 0 || reply.write_concern_error_code.is_some()
        })
    }

    /// The error code telemetry reports for a failed operation: `code`, else
    /// the first write error's code, else the write concern error's code.
    pub fn status_code(&self) -> Option<i32> {
        if !self.failed() {
            return None;
        }
        let reply = self.reply.as_ref()?;
        reply
            .code
            .or(reply.first_write_error_code)
            .or(reply.write_concern_error_code)
    }

    /// OpenTelemetry database semantic-convention attributes.
    pub fn attributes(&self) -> Vec<(&'static str, AttrValue)> {
        let mut attrs = vec![
            ("db.system.name", AttrValue::Str("mongodb".to_owned())),
            ("db.operation.name", AttrValue::Str(self.command.clone())),
        ];
        if let Some(database) = &self.database {
            attrs.push(("db.namespace", AttrValue::Str(database.clone())));
        }
        if let Some(collection) = &self.collection {
            attrs.push(("db.collection.name", AttrValue::Str(collection.clone())));
        }
        // A batch, in the conventions, is two or more operations sent
        // together: update or delete statements, bulkWrite's ops. The
        // documents of one insert are operands of one operation.
        let inserts = self.command == "insert" || self.op_code == OpCode::Insert;
        if self.request_documents >= 2 && !inserts {
            attrs.push((
                "db.operation.batch.size",
                AttrValue::Int(i64::try_from(self.request_documents).unwrap_or(i64::MAX)),
            ));
        }
        if let Some(code) = self.status_code() {
            attrs.push(("db.response.status_code", AttrValue::Str(code.to_string())));
            attrs.push(("error.type", AttrValue::Str(code.to_string())));
        }
        if let Some(reply) = &self.reply {
            attrs.push((
                "db.response.returned_rows",
                AttrValue::Int(i64::try_from(reply.documents).unwrap_or(i64::MAX)),
            ));
            if let Some(message) = &reply.errmsg {
                attrs.push(("db.mongodb.errmsg", AttrValue::Str(message.clone())));
            }
        }
        if self.session.has_lsid {
            attrs.push(("db.mongodb.session", AttrValue::Bool(true)));
        }
        if self.session.start_transaction {
            attrs.push(("db.mongodb.start_transaction", AttrValue::Bool(true)));
        }
        if let Some(autocommit) = self.session.autocommit {
            attrs.push(("db.mongodb.autocommit", AttrValue::Bool(autocommit)));
        }
        if let Some(txn) = self.session.txn_number {
            attrs.push(("db.mongodb.txn_number", AttrValue::Int(txn)));
        }
        if let Some(text) = &self.query_text {
            attrs.push(("db.query.text", AttrValue::Str(text.clone())));
        }
        attrs
    }
}
