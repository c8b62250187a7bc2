//! The document count of a kind-1 sequence (`wire::count_documents`) takes
//! exactly the inputs a document-by-document walk with `wire::document`
//! takes, and counts the same.
use crate::fuzzing::Rng;
use crate::mongodb::wire::{count_documents, document};

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
