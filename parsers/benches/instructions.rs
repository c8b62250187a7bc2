//! Runs one parser workload a fixed number of times, so that callgrind's
//! instruction count of two runs with different counts gives the cost of
//! one (`tests/parser_instructions.sh`). Instructions, unlike seconds, do
//! not depend on what else the machine is doing.
//!
//!   instructions --list          every case id and the bytes one run reads
//!   instructions CASE RUNS       run CASE (e.g. hpack/nginx_20_responses/fresh)
mod cases;

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // cargo passes `--bench` when it runs bench targets itself.
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bench")
        .collect();
    let mut cases = cases::all();
    match args.as_slice() {
        [] | ["--list"] => {
            for case in &cases {
                let bytes = case.bytes.map_or_else(|| "-".to_owned(), |b| b.to_string());
                println!("{} {bytes}", id(case));
            }
        }
        [wanted, runs] => {
            let runs: u64 = runs.parse().unwrap_or_else(|_| usage());
            let Some(case) = cases.iter_mut().find(|case| id(case) == *wanted) else {
                eprintln!("no case {wanted}; --list shows them");
                std::process::exit(2);
            };
            let mut total = 0usize;
            for _ in 0..runs {
                total = total.wrapping_add(black_box((case.run)()));
            }
            black_box(total);
        }
        _ => usage(),
    }
}

fn id(case: &cases::Case) -> String {
    format!("{}/{}", case.group, case.name)
}

fn usage() -> ! {
    eprintln!("usage: instructions [--list | CASE RUNS]");
    std::process::exit(2);
}
