//! The hotline desk under load.
//!
//! 1. Intake through HTTP — sessions, CSRF, validation, sealing, blind indexes, versions and the
//!    audit chain — at 1, 16 and 64 concurrent clients, on SQLite and (when
//!    `HAVEN_TEST_DATABASE_URL` is set) PostgreSQL; in the same run, the rate of a bare insert of
//!    an equally large row (1 KiB, about what a contact writes with its index, version and audit
//!    rows) into the same database, one transaction each, at the same concurrency: the floor.
//! 2. Phone lookup over many contacts (`HAVEN_BENCH_LOOKUP_ROWS`, default 1 000 000): p50/p99.
//!
//! `HAVEN_BENCH_INTAKES` sets the contacts per level (default 2000). Example:
//! `HAVEN_BENCH_INTAKES=1000 HAVEN_BENCH_LOOKUP_ROWS=100000 cargo bench -p haven-bench`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use haven_domain::Role;
use haven_domain::desk::ContactId;
use haven_store::contacts::{self, IndexKind};
use haven_store::{Backend, Db};
use haven_testkit::{Client, TestApp, TestBackend};

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

struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn summarise(mut lat: Vec<Duration>, elapsed: Duration) -> Run {
    lat.sort();
    Run {
        rate: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
    }
}

async fn intake(clients: &[(Client, String)], concurrency: usize, total: usize) -> Run {
    let per = total.div_ceil(concurrency);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (c, csrf) = clients[w % clients.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let phone = format!("+3816{}{:07}", w % 10, i);
                let summary = format!("Poziv {w}/{i}: provera ponude za posao u inostranstvu");
                let t = Instant::now();
                let res = c
                    .post_form_located(
                        "/staff/desk/new",
                        &haven_bench::intake_form(
                            &csrf,
                            &phone,
                            &summary,
                            "Oglas na društvenoj mreži, traže depozit od 300 evra i pasoš.",
                        ),
                    )
                    .await;
                lat.push(t.elapsed());
                assert!(matches!(res, Some((303, _))), "intake failed: {res:?}");
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    summarise(lat, start.elapsed())
}

async fn floor(db: &Db, concurrency: usize, total: usize) -> Run {
    let level = concurrency as u128;
    let per = total.div_ceil(concurrency);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            let payload = vec![0x5au8; 1024];
            for i in 0..per {
                let id = uuid::Uuid::from_u128((level << 96) | ((w as u128) << 64) | (i as u128));
                let t = Instant::now();
                let mut tx = db.begin().await.unwrap();
                haven_store::execute!(
                    &mut tx,
                    "INSERT INTO bench_floor (id, payload) VALUES ($1, $2)",
                    id,
                    payload.clone()
                )
                .unwrap();
                tx.commit().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    summarise(lat, start.elapsed())
}

async fn create_floor_table(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    match tx.backend() {
        Backend::Sqlite => haven_store::execute!(
            &mut tx,
            "CREATE TABLE IF NOT EXISTS bench_floor (id BLOB PRIMARY KEY, payload BLOB NOT NULL)"
        ),
        Backend::Postgres => haven_store::execute!(
            &mut tx,
            "CREATE TABLE IF NOT EXISTS bench_floor (id UUID PRIMARY KEY, payload BYTEA NOT NULL)"
        ),
    }
    .unwrap();
    tx.commit().await.unwrap();
}

async fn intake_bench(backend: TestBackend, name: &str, total: usize) {
    // The connection pools as a deployment has them (`database.max_connections`, default 8):
    // more connections mean more threads (SQLite) or backends (PostgreSQL) on the same cores.
    let app = TestApp::spawn_with(backend, |s| {
        s.session.idle_timeout_minutes = 24 * 60;
    })
    .await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (c, _) = app.signed_in(&[Role::Counsellor]).await;
        let csrf = c.get("/staff/desk/new").await.csrf();
        clients.push((c, csrf));
    }
    create_floor_table(&app.state.db).await;
    for concurrency in [1usize, 16, 64] {
        let n = if concurrency == 1 { total / 4 } else { total };
        let http = intake(&clients, concurrency, n).await;
        let bare = floor(&app.state.db, concurrency, n).await;
        println!(
            "{name:10} intake  clients={concurrency:>2}  {:>8.0} contacts/s  p50 {:>7} ms  p99 {:>7} ms | bare insert {:>8.0} rows/s  p50 {:>6} ms  p99 {:>6} ms | ratio {:.2}",
            http.rate,
            ms(http.p50),
            ms(http.p99),
            bare.rate,
            ms(bare.p50),
            ms(bare.p99),
            http.rate / bare.rate
        );
    }
    app.stop().await;
}

async fn lookup_bench(backend: TestBackend, name: &str, rows: usize) {
    let app = TestApp::spawn(backend).await;
    let org = app.state.default_org;
    let (_, user) = app.signed_in(&[Role::Counsellor]).await;
    let by = haven_store::users::by_email(&app.state.db, org, &user.email)
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let ring = app.state.keys.get(org).await.unwrap();
    let now = app.state.now();
    let started = Instant::now();
    // Phones repeat: about one caller in four has called before.
    let distinct = (rows * 3 / 4).max(1);
    let phone = |i: usize| format!("+3816{}{:07}", (i / 10_000_000) % 10, i % 10_000_000);
    let mut i = 0;
    while i < rows {
        let mut tx = app.state.db.begin().await.unwrap();
        for _ in 0..1000.min(rows - i) {
            let id: ContactId = app.state.ids().id();
            contacts::insert(
                &mut tx,
                &ring,
                app.state.rng.as_ref(),
                org,
                &contacts::NewContact {
                    id,
                    input: haven_testkit::information_request(
                        &phone(i % distinct),
                        "Zahtev za informacijom",
                        now - chrono::TimeDelta::seconds(i as i64),
                    ),
                    person_id: None,
                    counsellors: vec![by],
                    by,
                    now,
                },
            )
            .await
            .unwrap();
            i += 1;
        }
        tx.commit().await.unwrap();
    }
    let loaded = started.elapsed();
    let mut lat = Vec::new();
    let mut found = 0;
    for k in 0..1000usize {
        let target = phone((k * 7919) % distinct);
        let t = Instant::now();
        let r = contacts::lookup(&app.state.db, &ring, org, IndexKind::Phone, &target, 20)
            .await
            .unwrap();
        lat.push(t.elapsed());
        found += r.len();
    }
    lat.sort();
    println!(
        "{name:10} lookup  contacts={rows}  p50 {} ms  p99 {} ms  ({} found in 1000 lookups; loading took {:.0} s)",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        found,
        loaded.as_secs_f64()
    );
    app.stop().await;
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let total = env_usize("HAVEN_BENCH_INTAKES", 2000);
    let rows = env_usize("HAVEN_BENCH_LOOKUP_ROWS", 1_000_000);
    let pg = std::env::var("HAVEN_TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // HAVEN_BENCH_ONLY=intake or =lookup runs one half.
    let only = std::env::var("HAVEN_BENCH_ONLY").unwrap_or_default();
    rt.block_on(async {
        if only != "lookup" {
            intake_bench(TestBackend::Sqlite, "SQLite", total).await;
            if pg {
                intake_bench(TestBackend::Postgres, "PostgreSQL", total).await;
            }
        }
        if only != "intake" {
            lookup_bench(TestBackend::Sqlite, "SQLite", rows).await;
            if pg {
                lookup_bench(TestBackend::Postgres, "PostgreSQL", rows).await;
            }
        }
    });
}
