//! The public portal under load: requests per second and p50/p99 latency for a portal page
//! (`/en/page/rights-at-work`: Markdown rendered and sanitised on every request, layout, security
//! headers) at 64 concurrent clients, against a static body of exactly the same size served by
//! the same server process in the same run (the baseline: what the network stack and the router
//! cost without any portal work).
//!
//! `HAVEN_BENCH_PORTAL_REQUESTS` sets the requests per measurement (default 20000). Example:
//! `cargo bench -p haven-bench --bench portal`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use axum::routing::get;
use haven_testkit::{TestApp, TestBackend, reqwest};

const CONCURRENCY: usize = 64;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

async fn hammer(url: String, total: usize) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let per = total.div_ceil(CONCURRENCY);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for _ in 0..per {
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                let _ = r.bytes().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    lat.sort();
    Run {
        rate: lat.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
    }
}

fn main() {
    let total: usize = std::env::var("HAVEN_BENCH_PORTAL_REQUESTS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = TestApp::spawn(TestBackend::Sqlite).await;
        let page_path = "/en/page/rights-at-work";
        let body = reqwest::get(format!("{}{page_path}", app.base))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let size = body.len();
        // The same server process: Haven's router, plus one route with a static body of the
        // page's size.
        let fixed: &'static [u8] = Box::leak(vec![b'x'; size].into_boxed_slice());
        let router = haven_web::app::router(app.state.clone()).merge(
            axum::Router::new().route(
                "/bench/static",
                get(move || async move {
                    ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], fixed)
                }),
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(haven_web::app::serve(listener, router, std::future::pending()));
        // Warm up both.
        hammer(format!("{base}{page_path}"), 640).await;
        hammer(format!("{base}/bench/static"), 640).await;
        let page = hammer(format!("{base}{page_path}"), total).await;
        let fixed = hammer(format!("{base}/bench/static"), total).await;
        println!("portal page vs static body of the same size ({size} bytes), {CONCURRENCY} concurrent clients, {total} requests each");
        println!("{:<28} {:>10} {:>9} {:>9}", "", "req/s", "p50 ms", "p99 ms");
        println!("{:<28} {:>10.0} {:>9} {:>9}", page_path, page.rate, ms(page.p50), ms(page.p99));
        println!("{:<28} {:>10.0} {:>9} {:>9}", "static body", fixed.rate, ms(fixed.p50), ms(fixed.p99));
        println!(
            "ratio static/portal: {:.2}x throughput, p99 {:.2}x",
            fixed.rate / page.rate,
            page.p99.as_secs_f64() / fixed.p99.as_secs_f64().max(1e-9)
        );
        app.stop().await;
    });
}
