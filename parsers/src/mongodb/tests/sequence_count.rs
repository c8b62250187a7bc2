//! The document count of a kind-1 sequence (`sequence::count_documents`) takes
//! exactly the inputs a document-by-document walk with `wire::document`
//! takes, and counts the same.
use crate::fuzzing::Rng;
use crate::mongodb::sequence::count_documents;
use crate::mongodb::wire::document;

fn walk(mut input: &[u8]) -> Option<u64> {
    let mut n = 0;
    while !input.is_empty() {
        input = document(input).ok()?.0;
        n += 1;
    }
    Some(n)
}

fn doc(fill: u8, body: usize) -> Vec<u8> {
    let len = (4 + body + 1) as i32;
    let mut d = len.to_le_bytes().to_vec();
    d.extend(std::iter::repeat_n(fill, body));
    d.push(0);
    d
}

#[test]
fn agrees_with_the_document_walk_on_corrupted_sequences() {
    let mut rng = Rng::new(7);
    let mut sequence = Vec::new();
    for i in 0..6 {
        sequence.extend(doc(i, i as usize * 3));
    }
    assert_eq!(count_documents(&sequence).ok().map(|r| r.1), Some(6));
    for round in 0..4000 {
        let mut input = sequence.clone();
        let at = rng.below(input.len());
        input[at] = rng.next_u64() as u8;
        if round % 3 == 0 {
            input.truncate(rng.below(input.len() + 1));
        }
        assert_eq!(
            count_documents(&input).ok().map(|r| r.1),
            walk(&input),
            "input {input:?}"
        );
    }
    for hostile in [
        &[][..],
        &[1, 2],
        &[5, 0, 0, 0],
        &[0xff; 8],
        &[4, 0, 0, 0, 0],
    ] {
        assert_eq!(count_documents(hostile).ok().map(|r| r.1), walk(hostile));
    }
}

fn bson_bytes(d: &bson::Document) -> Vec<u8> {
    let mut v = Vec::new();
    d.to_writer(&mut v).expect("serialisable");
    v
}

/// A bulk insert's sequence: `_id` first, lengths varying, and with
/// `nested` a sub-document that also starts with `_id` (what a wrong
/// guess of a chain's start would look like).
fn bulk(documents: i64, nested: bool) -> Vec<u8> {
    let mut sequence = Vec::new();
    for i in 0..documents {
        let mut d = bson::doc! { "_id": i, "name": "x".repeat((i % 37) as usize) };
        if nested {
            d.insert(
                "sub",
                bson::doc! { "_id": i * 7, "n": "y".repeat((i % 5) as usize) },
            );
        }
        sequence.extend(bson_bytes(&d));
    }
    sequence
}

#[test]
fn long_sequences_count_the_same_in_chains() {
    for (documents, nested) in [(150, false), (400, false), (400, true), (5000, true)] {
        let sequence = bulk(documents, nested);
        assert!(sequence.len() >= 4096, "{documents} documents: too short");
        assert_eq!(
            count_documents(&sequence).ok().map(|r| r.1),
            Some(documents as u64)
        );
    }
}

#[test]
fn long_sequences_agree_with_the_document_walk_when_corrupted() {
    let mut rng = Rng::new(11);
    for nested in [false, true] {
        let sequence = bulk(300, nested);
        for round in 0..3000 {
            let mut input = sequence.clone();
            for _ in 0..1 + round % 3 {
                let at = rng.below(input.len());
                input[at] = rng.next_u64() as u8;
            }
            if round % 4 == 0 {
                input.truncate(rng.below(input.len() + 1));
            }
            if round % 5 == 0 {
                // A document's length field pointing at another `_id`.
                let at = rng.below(input.len().saturating_sub(4));
                let len = (rng.below(600) as i32).to_le_bytes();
                input[at..at + 4].copy_from_slice(&len);
            }
            assert_eq!(
                count_documents(&input).ok().map(|r| r.1),
                walk(&input),
                "round {round}, nested {nested}"
            );
        }
    }
}

#[test]
fn a_sequence_of_one_huge_document_or_of_signatures_counts_as_the_walk() {
    let huge = bson_bytes(&bson::doc! { "_id": 1, "blob": "z".repeat(20_000) });
    assert_eq!(count_documents(&huge).ok().map(|r| r.1), Some(1));
    // Every byte run looks like a document start: none of them fits.
    let hostile: Vec<u8> = std::iter::repeat_n([9u8, 0, 0, 0, 0x10, b'_', 0, 0, 0], 1000)
        .flatten()
        .collect();
    assert_eq!(count_documents(&hostile).ok().map(|r| r.1), walk(&hostile));
}
