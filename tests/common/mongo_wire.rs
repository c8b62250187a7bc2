//! Hand-built MongoDB messages for raw sockets: what no driver sends on its
//! own (malformed frames) and exact bytes to compare after the relay.
//!
//!     let ping = op_msg(7, &Doc::new().int("ping", 1).str("$db", "admin"));
/// A BSON document built field by field (int32, string, sub-document and
/// array of documents: all the raw tests need).
#[derive(Default, Clone)]
pub struct Doc {
    fields: Vec<u8>,
}

impl Doc {
    pub fn new() -> Doc {
        Doc::default()
    }

    pub fn int(mut self, key: &str, value: i32) -> Doc {
        self.head(0x10, key);
        self.fields.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub fn str(mut self, key: &str, value: &str) -> Doc {
        self.head(0x02, key);
        self.fields
            .extend_from_slice(&(value.len() as i32 + 1).to_le_bytes());
        self.fields.extend_from_slice(value.as_bytes());
        self.fields.push(0);
        self
    }

    pub fn array(mut self, key: &str, docs: &[Doc]) -> Doc {
        let mut array = Doc::new();
        for (i, d) in docs.iter().enumerate() {
            array.head(0x03, &i.to_string());
            array.fields.extend_from_slice(&d.bytes());
        }
        self.head(0x04, key);
        self.fields.extend_from_slice(&array.bytes());
        self
    }

    fn head(&mut self, kind: u8, key: &str) {
        self.fields.push(kind);
        self.fields.extend_from_slice(key.as_bytes());
        self.fields.push(0);
    }

    /// The encoded document: length, fields, terminating zero.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = ((self.fields.len() + 5) as i32).to_le_bytes().to_vec();
        out.extend_from_slice(&self.fields);
        out.push(0);
        out
    }
}

pub const OP_QUERY: i32 = 2004;
pub const OP_MSG: i32 = 2013;

/// A 16-byte header followed by `body`.
pub fn message(request_id: i32, response_to: i32, op_code: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&((16 + body.len()) as i32).to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&response_to.to_le_bytes());
    out.extend_from_slice(&op_code.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// An OP_MSG request with no flags and one body section (kind 0).
pub fn op_msg(request_id: i32, command: &Doc) -> Vec<u8> {
    let mut body = 0u32.to_le_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&command.bytes());
    message(request_id, 0, OP_MSG, &body)
}

/// A legacy OP_QUERY of `command` on `<db>.$cmd` (numberToReturn -1), as
/// pre-3.6 drivers sent commands.
pub fn op_query_command(request_id: i32, db: &str, command: &Doc) -> Vec<u8> {
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend_from_slice(format!("{db}.$cmd\0").as_bytes());
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&(-1i32).to_le_bytes());
    body.extend_from_slice(&command.bytes());
    message(request_id, 0, OP_QUERY, &body)
}

/// An OP_MSG whose only section has kind 7, which does not exist: a
/// well-framed message a MongoDB parser must reject.
pub fn op_msg_with_unknown_section(request_id: i32) -> Vec<u8> {
    let mut body = 0u32.to_le_bytes().to_vec();
    body.push(7);
    body.extend_from_slice(&Doc::new().int("ping", 1).bytes());
    message(request_id, 0, OP_MSG, &body)
}

/// Reads one whole message (header's length) from the front of `bytes`.
pub fn first_message(bytes: &[u8]) -> Option<&[u8]> {
    let len = i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    bytes.get(..len)
}
