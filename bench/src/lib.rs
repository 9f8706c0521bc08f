//! Benchmarks of Haven live in `benches/`; run them with `cargo bench -p haven-bench`.
//!
//! The attack bench's long-running programs live in `src/bin/`: `crashtest` (SIGKILL during
//! writes, then every acknowledged write read back) and `loadgen` (a mixed workload for minutes,
//! with latency and the server's memory over time). They share [`harness`].

pub mod harness;

/// The intake form of a hotline contact as a counsellor sends it (a suspicious job offer on the
/// SOS line, every usual field filled), for the desk benchmark, the crash test and the load
/// generator.
pub fn intake_form<'a>(
    csrf: &'a str,
    phone: &'a str,
    summary: &'a str,
    notes: &'a str,
) -> [(&'static str, &'a str); 12] {
    [
        ("csrf", csrf),
        ("line", "sos"),
        ("channel", "phone"),
        ("caller_type", "potential_victim"),
        ("phone", phone),
        ("category", "labour.job_offer"),
        ("countries", "RS, DE"),
        ("urgency", "urgent"),
        ("summary", summary),
        ("notes", notes),
        ("duration", "3:20"),
        ("do", "save"),
    ]
}
