//! The HPACK index space (RFC 7541 §2.3): the static table, then the
//! dynamic table, newest entry first.
//!
//! The dynamic table also has to cope with what a passive observer cannot
//! know: entries whose name or value we could not decode (an unresolved
//! name index, a broken Huffman string) are still inserted, marked
//! unknown, so that the indices of later entries stay aligned with the
//! peer's table.

use std::collections::VecDeque;

/// RFC 7541 Appendix A. Index 1 is element 0.
pub const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The name of a static-table index (borrowed for good, unlike a
/// dynamic entry's); `None` for 0 and dynamic indices.
pub fn static_name(index: u32) -> Option<&'static [u8]> {
    let i = (index as usize).checked_sub(1)?;
    STATIC.get(i).map(|&(name, _)| name)
}

/// Per-entry overhead in the size accounting (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// A dynamic-table entry: where its name and value sit in the table's
/// byte arena. Unknown parts (not decodable by us) are empty and flagged.
/// Offsets fit `u32`: the arena stays below `2 * max_size + COMPACT_MIN`
/// plus one entry, and `max_size` is at most the decoder's 64 KiB cap.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    name_len: u32,
    value_len: u32,
    name_known: bool,
    value_known: bool,
}

impl Entry {
    fn len(&self) -> usize {
        self.name_len as usize + self.value_len as usize
    }

    /// §4.1 size: unknown parts are stored (and counted) as empty.
    fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.len()
    }
}

/// What an index resolves to.
pub enum Lookup<'a> {
    Found(Option<&'a [u8]>, Option<&'a [u8]>),
    /// Beyond both tables: the entry was created before we started
    /// watching, or was lost with a block we could not decode.
    Missing,
    /// Index 0, which never names anything.
    Invalid,
}

/// Evicted bytes are reclaimed (the live ones moved to the front) once
/// they outweigh the live ones and this much: each byte is then moved at
/// most about once per write, and tiny tables are not compacted over and
/// over for a few bytes.
const COMPACT_MIN: usize = 1024;
/// First arena allocation: a typical response's indexed headers fit.
const ARENA_START: usize = 512;

/// The dynamic table with FIFO eviction by size.
///
/// All entries share one byte arena, appended to in insertion order, so a
/// connection's table costs a couple of allocations as it fills instead of
/// one per header (a `date` indexed on every response churns it constantly).
/// Eviction only drops the oldest entry's metadata; its bytes become a dead
/// prefix of the arena, reclaimed by compaction.
#[derive(Debug, Clone)]
pub struct DynamicTable {
    /// Newest first.
    entries: VecDeque<Entry>,
    bytes: Vec<u8>,
    /// Length of the evicted prefix of `bytes`.
    dead: usize,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::with_capacity(16),
            bytes: Vec::new(),
            dead: 0,
            size: 0,
            max_size,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Current size by the §4.1 accounting.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Applies a size change, evicting the oldest entries to fit (§4.3).
    /// A much smaller table also gives back the arena's spare room.
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
        self.compact();
        let keep = max_size.saturating_mul(2).max(ARENA_START);
        if self.bytes.capacity() > keep {
            self.bytes.shrink_to(keep.max(self.bytes.len()));
        }
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.entries.pop_back() {
                Some(e) => {
                    self.size = self.size.saturating_sub(e.size());
                    self.dead += e.len();
                }
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
        if self.entries.is_empty() {
            self.bytes.clear();
            self.dead = 0;
        }
    }

    /// Moves the live bytes to the front once the dead prefix outweighs them.
    fn compact(&mut self) {
        let live = self.bytes.len() - self.dead;
        if self.dead < COMPACT_MIN || self.dead < live {
            return;
        }
        self.bytes.copy_within(self.dead.., 0);
        self.bytes.truncate(live);
        let shift = self.dead as u32;
        for e in &mut self.entries {
            e.start -= shift;
        }
        self.dead = 0;
    }

    /// Adds an entry (§4.4): evicts until it fits; an entry larger than
    /// the whole table empties it and is not added. Unknown parts count
    /// as empty, which can only make us keep an entry longer than the
    /// peer does, never resolve an index differently.
    pub fn insert(&mut self, name: Option<&[u8]>, value: Option<&[u8]>) {
        let (n, v) = (name.unwrap_or_default(), value.unwrap_or_default());
        let size = ENTRY_OVERHEAD
            .saturating_add(n.len())
            .saturating_add(v.len());
        if size > self.max_size {
            self.entries.clear();
            self.bytes.clear();
            self.dead = 0;
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.compact();
        let need = n.len() + v.len();
        if self.bytes.capacity() - self.bytes.len() < need {
            self.bytes.reserve(need.max(ARENA_START));
        }
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(n);
        self.bytes.extend_from_slice(v);
        self.entries.push_front(Entry {
            start,
            name_len: n.len() as u32,
            value_len: v.len() as u32,
            name_known: name.is_some(),
            value_known: value.is_some(),
        });
        self.size += size;
    }

    /// Resolves a 1-based HPACK index over both tables.
    pub fn get(&self, index: u32) -> Lookup<'_> {
        let index = index as usize;
        if index == 0 {
            return Lookup::Invalid;
        }
        if let Some((n, v)) = STATIC.get(index - 1) {
            return Lookup::Found(Some(n), Some(v));
        }
        match self.entries.get(index - 1 - STATIC.len()) {
            Some(e) => {
                let start = e.start as usize;
                let mid = start + e.name_len as usize;
                let end = mid + e.value_len as usize;
                let part = |known: bool, from: usize, to: usize| {
                    known.then(|| self.bytes.get(from..to).unwrap_or_default())
                };
                Lookup::Found(
                    part(e.name_known, start, mid),
                    part(e.value_known, mid, end),
                )
            }
            None => Lookup::Missing,
        }
    }

    /// Bytes held for entries, live and evicted (tests check the bound).
    #[cfg(test)]
    fn arena_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(t: &DynamicTable, i: u32) -> Option<(Vec<u8>, Vec<u8>)> {
        match t.get(i) {
            Lookup::Found(Some(n), Some(v)) => Some((n.to_vec(), v.to_vec())),
            _ => None,
        }
    }

    #[test]
    fn static_then_dynamic_newest_first() {
        let mut t = DynamicTable::new(4096);
        assert_eq!(found(&t, 2), Some((b":method".to_vec(), b"GET".to_vec())));
        assert_eq!(found(&t, 61).unwrap().0, b"www-authenticate");
        assert!(matches!(t.get(62), Lookup::Missing));
        assert!(matches!(t.get(0), Lookup::Invalid));
        t.insert(Some(b"a"), Some(b"1"));
        t.insert(Some(b"b"), Some(b"2"));
        assert_eq!(found(&t, 62).unwrap().0, b"b");
        assert_eq!(found(&t, 63).unwrap().0, b"a");
        assert_eq!(t.size(), 2 * 34);
    }

    #[test]
    fn eviction_by_size_and_oversized_entry_empties() {
        let mut t = DynamicTable::new(100);
        t.insert(Some(b"aaaa"), Some(b"aaaa")); // 40
        t.insert(Some(b"bbbb"), Some(b"bbbb")); // 80
        t.insert(Some(b"cccc"), Some(b"cccc")); // evicts a
        assert_eq!(t.len(), 2);
        assert_eq!(found(&t, 63).unwrap().0, b"bbbb");
        t.set_max_size(40);
        assert_eq!(t.len(), 1);
        t.insert(Some(&[b'x'; 100]), None);
        assert_eq!((t.len(), t.size()), (0, 0));
    }

    #[test]
    fn churn_keeps_the_arena_bounded_and_entries_intact() {
        let mut t = DynamicTable::new(4096);
        for i in 0..10_000u32 {
            let value = format!("value-{i}-{}", "x".repeat((i % 97) as usize));
            let name = (i % 5 != 0).then_some(&b"date"[..]);
            t.insert(name, Some(value.as_bytes()));
            assert!(t.arena_len() <= 2 * 4096 + COMPACT_MIN + 200);
            let (n, v) = match t.get(62) {
                Lookup::Found(n, v) => (n, v),
                _ => panic!("newest entry missing"),
            };
            assert_eq!((n, v), (name, Some(value.as_bytes())));
        }
        // The oldest survivors still read back whole.
        let oldest = 61 + t.len() as u32;
        assert!(matches!(t.get(oldest), Lookup::Found(_, Some(v)) if v.starts_with(b"value-")));
        t.set_max_size(0);
        assert_eq!((t.len(), t.size(), t.arena_len()), (0, 0, 0));
    }
}
