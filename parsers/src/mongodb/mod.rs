//! MongoDB wire protocol. (Contract only; the parser lands with issue 3.)
pub mod event;

pub use event::{CommandKind, Compressor, MongoExchange, MongoReply, OpCode, SessionInfo};
