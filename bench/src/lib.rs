//! Benchmarks of Haven live in `benches/`; run them with `cargo bench -p haven-bench`.
