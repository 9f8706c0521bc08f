//! Matching a job-offer report against many agencies.
//!
//! `HAVEN_BENCH_AGENCIES` agencies (default 100 000), each with a name built from common words
//! (so that name tokens are shared the way real agency names share them), a legal suffix, a web
//! site, a social-media page and a mobile number, sealed and blind-indexed like real ones. Then
//! 1000 reports are matched the way the desk matches them (`agencies::find_matches`): two channels
//! (a page that an agency holds, written another way, and a landline nobody holds) and a name (an
//! agency's name in the other script and without its legal suffix): p50 and p99. In the same
//! run, the baseline: 1000 single primary-key reads of an agency row.
//!
//! SQLite always; PostgreSQL too when `HAVEN_TEST_DATABASE_URL` is set. `HAVEN_BENCH_ONLY=sqlite`
//! or `=postgres` runs one backend. Example:
//! `HAVEN_BENCH_AGENCIES=100000 cargo bench -p haven-bench --bench agencies`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use haven_domain::agencies::{Certainty, normalise_channel};
use haven_domain::script::latin_to_cyrillic;
use haven_store::agencies::{self as store, AgencyInput, MatchQuery};
use haven_store::on_db;
use haven_testkit::{TestApp, TestBackend};
use uuid::Uuid;

const FIRST: [&str; 20] = [
    "Posao", "Rad", "Euro", "Balkan", "Global", "Sezona", "Dunav", "Sava", "Morava", "Nova",
    "Brza", "Sigurna", "Prava", "Zlatna", "Velika", "Mala", "Srpska", "Evropska", "Moja", "Dobra",
];
const SECOND: [&str; 20] = [
    "Plus", "Tim", "Partner", "Kadrovi", "Staze", "Ruke", "Prilika", "Karijera", "Put", "Most",
    "Horizont", "Zvezda", "Sunce", "Grad", "Luka", "Vrata", "Kompas", "Start", "Korak", "Ljudi",
];
const SUFFIX: [&str; 4] = ["d.o.o.", "doo", "pr", "a.d."];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The base name of agency `i`: two common words and a distinguishing third.
fn base_name(i: usize) -> String {
    format!(
        "{} {} {}",
        FIRST[i % FIRST.len()],
        SECOND[(i / FIRST.len()) % SECOND.len()],
        i / (FIRST.len() * SECOND.len())
    )
}

fn page(i: usize) -> String {
    format!("facebook.com/agencija.{i}")
}

fn mobile(i: usize) -> String {
    format!("+3816{}{:07}", i % 10, i / 10)
}

async fn bench(backend: TestBackend, name: &str, agencies: usize) {
    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let ring = app.state.keys.get(org).await.unwrap();
    let rng = app.state.rng.as_ref();
    let now = app.state.now();
    let started = Instant::now();
    let mut ids: Vec<Uuid> = Vec::with_capacity(agencies);
    let mut i = 0;
    while i < agencies {
        let mut tx = app.state.db.begin().await.unwrap();
        for _ in 0..1000.min(agencies - i) {
            let id = app.state.ids().uuid();
            store::insert(
                &mut tx,
                &ring,
                rng,
                org,
                id,
                &AgencyInput {
                    name: format!("{} {}", base_name(i), SUFFIX[i % SUFFIX.len()]),
                    registration_number: Some(format!("{:08}", 20_000_000 + i)),
                    ..AgencyInput::default()
                },
                None,
                now,
            )
            .await
            .unwrap();
            for raw in [
                format!("https://www.agencija-{i}.example/"),
                page(i),
                mobile(i),
            ] {
                let ch = normalise_channel(&raw, "RS").unwrap();
                store::add_channel(
                    &mut tx,
                    &ring,
                    rng,
                    org,
                    app.state.ids().uuid(),
                    id,
                    &ch,
                    None,
                    now,
                )
                .await
                .unwrap()
                .unwrap();
            }
            ids.push(id);
            i += 1;
        }
        tx.commit().await.unwrap();
    }
    let loaded = started.elapsed();

    // The baseline: one row by its primary key.
    let mut base = Vec::with_capacity(1000);
    for k in 0..1000usize {
        let id = ids[(k * 7919) % ids.len()];
        let t = Instant::now();
        let n: Option<String> = on_db!(&app.state.db, |c| sqlx::query_scalar(
            "SELECT name FROM agencies WHERE org_id = $1 AND id = $2"
        )
        .bind(org.0)
        .bind(id)
        .fetch_optional(c)
        .await)
        .unwrap();
        base.push(t.elapsed());
        assert!(n.is_some());
    }
    base.sort();

    // Reports: a page written another way, a landline nobody holds, a name in Cyrillic without
    // its legal form.
    let mut lat = Vec::with_capacity(1000);
    let mut certain = 0;
    let mut candidates = 0;
    for k in 0..1000usize {
        let target = (k * 7919) % agencies;
        let q = MatchQuery {
            name: latin_to_cyrillic(&base_name(target)),
            channels: vec![
                normalise_channel(
                    &format!("https://m.facebook.com/Agencija.{target}/?ref=share"),
                    "RS",
                )
                .unwrap(),
                normalise_channel(&format!("011 3{:06}", k), "RS").unwrap(),
            ],
            ..MatchQuery::default()
        };
        let t = Instant::now();
        let found = store::find_matches(&app.state.db, &ring, org, &q, 10)
            .await
            .unwrap();
        lat.push(t.elapsed());
        candidates += found.len();
        if found
            .first()
            .is_some_and(|m| m.agency.id == ids[target] && m.certainty == Certainty::Certain)
        {
            certain += 1;
        }
    }
    lat.sort();
    println!(
        "{name:10} match  agencies={agencies}  p50 {} ms  p99 {} ms | primary-key read p50 {} ms  p99 {} ms | {certain}/1000 found first and certain, {:.1} proposals each; loading took {:.0} s",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        ms(pct(&base, 0.5)),
        ms(pct(&base, 0.99)),
        candidates as f64 / 1000.0,
        loaded.as_secs_f64()
    );
    app.stop().await;
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let agencies = env_usize("HAVEN_BENCH_AGENCIES", 100_000).max(1);
    let pg = std::env::var("HAVEN_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty());
    let only = std::env::var("HAVEN_BENCH_ONLY").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if only != "postgres" {
            bench(TestBackend::Sqlite, "SQLite", agencies).await;
        }
        if pg && only != "sqlite" {
            bench(TestBackend::Postgres, "PostgreSQL", agencies).await;
        }
    });
}
