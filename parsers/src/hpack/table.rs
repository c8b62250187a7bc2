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

/// Per-entry overhead in the size accounting (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// A dynamic-table entry: name and value in one allocation. Unknown parts
/// (not decodable by us) are empty and flagged.
#[derive(Debug, Clone)]
pub struct Entry {
    bytes: Vec<u8>,
    name_len: usize,
    name_known: bool,
    value_known: bool,
    size: usize,
}

impl Entry {
    fn name(&self) -> Option<&[u8]> {
        self.name_known
            .then(|| self.bytes.get(..self.name_len).unwrap_or_default())
    }

    fn value(&self) -> Option<&[u8]> {
        self.value_known
            .then(|| self.bytes.get(self.name_len..).unwrap_or_default())
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

/// Evicted entries' buffers kept for reuse: a table that churns (a `date`
/// header indexed on every response) then costs no allocation.
const SPARE_BUFFERS: usize = 8;

/// The dynamic table with FIFO eviction by size.
#[derive(Debug, Clone)]
pub struct DynamicTable {
    entries: VecDeque<Entry>,
    spare: Vec<Vec<u8>>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::with_capacity(16),
            spare: Vec::new(),
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
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.entries.pop_back() {
                Some(e) => {
                    self.size = self.size.saturating_sub(e.size);
                    if self.spare.len() < SPARE_BUFFERS {
                        self.spare.push(e.bytes);
                    }
                }
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    /// Adds an entry (§4.4): evicts until it fits; an entry larger than
    /// the whole table empties it and is not added. Unknown parts count
    /// as empty, which can only make us keep an entry longer than the
    /// peer does, never resolve an index differently.
    pub fn insert(&mut self, name: Option<&[u8]>, value: Option<&[u8]>) {
        let size = ENTRY_OVERHEAD
            .saturating_add(name.map_or(0, <[u8]>::len))
            .saturating_add(value.map_or(0, <[u8]>::len));
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        let (n, v) = (name.unwrap_or_default(), value.unwrap_or_default());
        let mut bytes = self.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(n);
        bytes.extend_from_slice(v);
        self.entries.push_front(Entry {
            bytes,
            name_len: n.len(),
            name_known: name.is_some(),
            value_known: value.is_some(),
            size,
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
            Some(e) => Lookup::Found(e.name(), e.value()),
            None => Lookup::Missing,
        }
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
}
