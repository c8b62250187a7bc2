//! Whole-parser tests: built samples of every opcode, section kind and
//! compressor (`samples.rs`, from the message builder in `builder.rs`),
//! real pymongo captures (`captures.rs`), and broken or hostile input
//! (`errors.rs`). Every conversation also goes through the split invariant.

mod attributes;
mod builder;
mod captures;
mod errors;
mod expected;
mod limits;
mod samples;
mod samples_wire;
mod sequence_count;

use super::*;
use crate::event::{Exchange, ExchangeDetail, Outcome};
use crate::fuzzing::Rng;

pub const C: Direction = Direction::ClientToServer;
pub const S: Direction = Direction::ServerToClient;

/// A conversation: segments in wire order; segment `i` carries timestamp `i`.
pub struct Conversation {
    pub name: &'static str,
    pub segments: Vec<(Direction, Vec<u8>)>,
    pub options: MongoOptions,
}

/// One line per exchange, so expectations read like the traffic.
pub fn summary(e: &Exchange) -> String {
    let ExchangeDetail::Mongo(m) = &e.detail else {
        return format!("not mongodb: {:?}", e.detail);
    };
    let comp = |c: Option<Compressor>| c.map_or(String::new(), |c| format!("+{}", c.as_str()));
    let kind = match m.kind {
        CommandKind::Operation => "op",
        CommandKind::Handshake => "hs",
    };
    let mut s = format!(
        "{}{} {}({}/{}) {}.{}",
        m.op_code.as_str(),
        comp(m.compressor),
        m.command,
        m.command_label,
        kind,
        m.database.as_deref().unwrap_or("-"),
        m.collection.as_deref().unwrap_or("-"),
    );
    if m.request_documents > 0 {
        s += &format!(" sent={}", m.request_documents);
    }
    if m.fire_and_forget {
        s += " ff";
    }
    let ss = &m.session;
    if ss.has_lsid {
        s += " lsid";
    }
    if let Some(t) = ss.txn_number {
        s += &format!(" txn={t}");
    }
    if ss.start_transaction {
        s += " start";
    }
    if let Some(a) = ss.autocommit {
        s += &format!(" autocommit={a}");
    }
    match &m.reply {
        None => s += " -> none",
        Some(r) => {
            s += &format!(
                " -> {}{} x{} ok={}",
                r.op_code.map_or("?", OpCode::as_str),
                comp(r.compressor),
                r.messages,
                u8::from(r.ok)
            );
            if let Some(c) = r.code {
                s += &format!(" code={c}");
            }
            if let Some(c) = &r.code_name {
                s += &format!(" {c}");
            }
            if r.write_errors > 0 {
                s += &format!(
                    " writeErrors={}/{:?}",
                    r.write_errors, r.first_write_error_code
                );
            }
            if let Some(c) = r.write_concern_error_code {
                s += &format!(" wce={c}");
            }
            if let Some(n) = r.n {
                s += &format!(" n={n}");
            }
            if let Some(n) = r.n_modified {
                s += &format!(" nModified={n}");
            }
            if r.upserted > 0 {
                s += &format!(" upserted={}", r.upserted);
            }
            s += &format!(" docs={}", r.documents);
            if let Some(c) = r.cursor_id {
                s += &format!(" cursor={c}");
            }
        }
    }
    let outcome = match e.outcome {
        Outcome::Complete => "",
        Outcome::Incomplete => " INCOMPLETE",
    };
    s + &format!(
        " t={}..{} bytes={}/{}{outcome}",
        e.started.0, e.finished.0, e.request_bytes, e.response_bytes
    )
}

/// Feeds a conversation with each segment cut at the offsets `cut` gives.
pub fn run(
    conv: &Conversation,
    mut cut: impl FnMut(usize, &[u8]) -> Vec<usize>,
) -> (Vec<Exchange>, Status) {
    let mut parser = MongoParser::with_options(conv.options);
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for (i, (dir, bytes)) in conv.segments.iter().enumerate() {
        let mut from = 0;
        let mut ends = cut(i, bytes);
        ends.push(bytes.len());
        for end in ends {
            let end = end.clamp(from, bytes.len());
            status = parser.feed(*dir, &bytes[from..end], Timestamp(i as u64), &mut out);
            from = end;
        }
        assert!(parser.buffered_bytes() <= 2 * (conv.options.max_message_bytes + 16));
    }
    parser.close(Timestamp(conv.segments.len() as u64), &mut out);
    (out, status)
}

pub fn whole(conv: &Conversation) -> (Vec<Exchange>, Status) {
    run(conv, |_, _| Vec::new())
}

pub fn summaries(conv: &Conversation) -> Vec<String> {
    whole(conv).0.iter().map(summary).collect()
}

/// The split invariant: every single cut point in every segment, byte by
/// byte, and random multi-cuts, all give the events of the whole feed.
pub fn assert_split_invariant(conv: &Conversation) {
    let reference = whole(conv);
    for (seg, (_, bytes)) in conv.segments.iter().enumerate() {
        for at in 0..=bytes.len() {
            let got = run(conv, |i, _| if i == seg { vec![at] } else { Vec::new() });
            assert_eq!(got, reference, "{}: segment {seg} split at {at}", conv.name);
        }
    }
    let bytewise = run(conv, |_, b| (1..b.len()).collect());
    assert_eq!(bytewise, reference, "{}: byte by byte", conv.name);
    let mut rng = Rng::new(7);
    for _ in 0..20 {
        let got = run(conv, |_, b| {
            let mut cuts: Vec<usize> = (0..4).map(|_| rng.below(b.len() + 1)).collect();
            cuts.sort_unstable();
            cuts
        });
        assert_eq!(got, reference, "{}: random cuts", conv.name);
    }
}
