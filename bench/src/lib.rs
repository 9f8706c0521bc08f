//! Benchmarks of Haven live in `benches/`; run them with `cargo bench -p haven-bench`.
//!
//! The attack bench's long-running programs live in `src/bin/`: `crashtest` (SIGKILL during
//! writes, then every acknowledged write read back) and `loadgen` (a mixed workload for minutes,
//! with latency and the server's memory over time). They share [`harness`].

pub mod harness;
