//! Relay buffers kept per worker thread between bursts.
//!
//! A relay direction holds a buffer only while its socket has bytes, so an
//! idle connection costs nothing. Without a pool, every burst of a bulk
//! stream allocated its 1 MiB buffer afresh: glibc handed the memory back
//! to the kernel when it was freed and took it again on the next burst,
//! and the kernel's page faults and zeroing of those pages were about 2% of
//! the relay's core on the bench. A few buffers kept per worker remove
//! that; the pool is bounded, so what it holds is at most
//! `POOLED * MAX_READ` per worker, whatever the number of connections.
use std::cell::RefCell;

/// Most buffers a worker keeps between bursts: enough for the directions
/// of a few bulk connections taking turns on one worker.
const POOLED: usize = 4;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer of at least `capacity`: a pooled one if the worker has
/// one (pooled buffers are all of the largest size), else a new one.
pub fn take(capacity: usize) -> Vec<u8> {
    let pooled = SPARE.with(|spare| spare.borrow_mut().pop());
    match pooled {
        Some(buffer) if buffer.capacity() >= capacity => buffer,
        _ => Vec::with_capacity(capacity),
    }
}

/// Hands a buffer back when its burst ended. Only buffers of `pooled_size`
/// are kept, up to [`POOLED`]; the rest are freed.
pub fn give_back(mut buffer: Vec<u8>, pooled_size: usize) {
    if buffer.capacity() != pooled_size {
        return;
    }
    buffer.clear();
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < POOLED {
            spare.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: usize = 64 * 1024;

    #[test]
    fn a_returned_buffer_is_taken_again_empty() {
        let mut buffer = take(SIZE);
        buffer.extend_from_slice(b"left over");
        let address = buffer.as_ptr();
        give_back(buffer, SIZE);
        let again = take(1024);
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty());
        assert!(again.capacity() >= SIZE);
    }

    #[test]
    fn only_full_size_buffers_are_kept_and_at_most_pooled() {
        give_back(Vec::with_capacity(16), SIZE);
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), 0);
        for _ in 0..POOLED + 3 {
            give_back(Vec::with_capacity(SIZE), SIZE);
        }
        assert_eq!(SPARE.with(|spare| spare.borrow().len()), POOLED);
    }
}
