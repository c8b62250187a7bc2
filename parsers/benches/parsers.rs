//! Parser throughput in bytes per second, next to this machine's memcpy rate
//! as the ceiling. Run with `cargo bench -p periscope-parsers --bench
//! parsers`. The workloads are in `cases/`; `instructions.rs` runs the same
//! ones for callgrind.
mod cases;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn parsers(c: &mut Criterion) {
    let mut cases = cases::all();
    let groups: Vec<&'static str> = cases.iter().map(|case| case.group).collect();
    let mut seen = Vec::new();
    for group_name in groups {
        if seen.contains(&group_name) {
            continue;
        }
        seen.push(group_name);
        let mut group = c.benchmark_group(group_name);
        for case in cases.iter_mut().filter(|case| case.group == group_name) {
            group.throughput(match case.bytes {
                Some(bytes) => Throughput::Bytes(bytes),
                None => Throughput::Elements(1),
            });
            let run = &mut case.run;
            group.bench_function(case.name.as_str(), |b| b.iter(|| black_box(run())));
        }
        group.finish();
    }
}

/// The ceiling: copying the same bytes, which any parser must at least read.
fn memcpy_ceiling(c: &mut Criterion) {
    let source = vec![0x5au8; 64 * 1024];
    let mut target = vec![0u8; source.len()];
    let mut group = c.benchmark_group("ceiling");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_function("memcpy_64k", |b| {
        b.iter(|| target.copy_from_slice(black_box(&source)))
    });
    group.finish();
}

criterion_group!(benches, parsers, memcpy_ceiling);
criterion_main!(benches);
