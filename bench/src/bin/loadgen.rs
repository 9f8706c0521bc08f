//! Sustained load: the real `haven serve` (build it with `--release`) under a mixed workload for
//! ten minutes — counsellors at the desk (inbox, new contact, lookup by phone, the contact's
//! page), case work (open a case, read it, update it, add a task and a note, the case list) and
//! portal visitors (home, the self-check, the agency check, an anonymous report) — each client in
//! a closed loop, as fast as the server answers. Prints per operation and in total: requests,
//! throughput, p50/p99 latency and errors (which must be zero), and the server's resident memory
//! (`VmRSS` from `/proc/PID/status`) every ten seconds, which must level off: the largest sample
//! of the last third of the run may exceed the largest of the middle third by at most 10%.
//!
//! Environment:
//! - `HAVEN_LOAD_SECONDS` how long (default 600); `HAVEN_LOAD_SAMPLE_SECONDS` (default 10);
//! - `HAVEN_LOAD_DESK`, `HAVEN_LOAD_CASES`, `HAVEN_LOAD_VISITORS` clients of each kind
//!   (default 4, 2, 4);
//! - `HAVEN_LOAD_BACKEND` `sqlite` (default) or `postgres`, with `HAVEN_LOAD_DATABASE_URL` (or
//!   `HAVEN_TEST_DATABASE_URL`) naming the server; the run makes the database
//!   `haven_bench_load` there and drops it afterwards;
//! - `HAVEN_LOAD_DEMO_SIZE` demo data loaded first (default 2);
//! - `HAVEN_LOAD_PORT` (default 18350); `HAVEN_BIN` the `haven` binary (default: beside this
//!   program).
//!
//! Every portal visitor comes from 127.0.0.1, so the instance raises the portal's per-address
//! limits with its documented settings (`[portal] challenge_after` and `refuse_after`, here as
//! `HAVEN_PORTAL__CHALLENGE_AFTER` and `HAVEN_PORTAL__REFUSE_AFTER`); nothing else is changed.
//!
//! The last line is `RESULT load tried=<requests> failed=<errors + 1 if memory did not level>`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use haven_bench::harness::{self, Client, Instance, Rng, env_u64, ms, pct, seed};
use haven_testkit::reqwest;

/// Latencies and errors per operation, shared by all clients.
#[derive(Default)]
struct Stats {
    ops: Mutex<BTreeMap<&'static str, Op>>,
    requests: AtomicU64,
    errors: AtomicU64,
}

#[derive(Default)]
struct Op {
    lat: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Stats {
    fn record(&self, op: &'static str, took: Duration, error: Option<String>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let o = ops.entry(op).or_default();
        o.lat.push(took);
        if let Some(e) = error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            o.errors += 1;
            if o.first_error.is_none() {
                o.first_error = Some(e);
            }
        }
    }
}

/// Times a request whose answer is `(status, body or location)`; checks the status.
async fn timed<F>(stats: &Stats, op: &'static str, want: u16, f: F) -> Option<String>
where
    F: std::future::Future<Output = Option<(u16, String)>>,
{
    let t = Instant::now();
    let res = f.await;
    let took = t.elapsed();
    match res {
        Some((s, body)) if s == want => {
            stats.record(op, took, None);
            Some(body)
        }
        Some((s, _)) => {
            stats.record(op, took, Some(format!("status {s}")));
            None
        }
        None => {
            stats.record(op, took, Some("no answer".into()));
            None
        }
    }
}

/// A GET through a signed-in client: (status, body).
async fn staff_get(c: &Client, path: &str) -> Option<(u16, String)> {
    let p = c.get(path).await;
    Some((p.status.as_u16(), p.text))
}

fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].to_owned())
}

async fn desk(c: Client, n: usize, stats: Arc<Stats>, until: Instant, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut phones: Vec<String> = Vec::new();
    let mut i = 0u64;
    while Instant::now() < until {
        i += 1;
        timed(&stats, "desk.inbox", 200, staff_get(&c, "/staff/desk")).await;
        let Some(form) = timed(&stats, "desk.form", 200, staff_get(&c, "/staff/desk/new")).await
        else {
            continue;
        };
        let Some(csrf) = input_value(&form, "csrf") else {
            stats.record("desk.form", Duration::ZERO, Some("no CSRF token".into()));
            continue;
        };
        // About one caller in four has called before.
        let phone = if !phones.is_empty() && rng.below(4) == 0 {
            phones[rng.below(phones.len() as u64) as usize].clone()
        } else {
            format!("+3816{}{:07}", n % 10, i % 10_000_000)
        };
        let summary = format!("Poziv {n}/{i}: provera ponude za posao u inostranstvu");
        let loc = timed(
            &stats,
            "desk.intake",
            303,
            c.post_form_located(
                "/staff/desk/new",
                &haven_bench::intake_form(
                    &csrf,
                    &phone,
                    &summary,
                    "Oglas na drustvenoj mrezi, traze depozit od 300 evra i pasos.",
                ),
            ),
        )
        .await;
        phones.push(phone);
        if phones.len() > 1000 {
            phones.swap_remove(0);
        }
        let target = phones[rng.below(phones.len() as u64) as usize].clone();
        timed(
            &stats,
            "desk.lookup",
            200,
            c.post_form_located("/staff/desk/lookup", &[("csrf", &csrf), ("phone", &target)]),
        )
        .await;
        if let Some(loc) = loc {
            timed(&stats, "desk.contact", 200, staff_get(&c, &loc)).await;
        }
    }
}

async fn cases(c: Client, n: usize, stats: Arc<Stats>, until: Instant) {
    let mut i = 0u64;
    let Ok(csrf) = harness::csrf_of(&c, "/staff/cases/new").await else {
        stats.record("case.open", Duration::ZERO, Some("no CSRF token".into()));
        return;
    };
    while Instant::now() < until {
        i += 1;
        let summary = format!("Slucaj {n}/{i}: rad bez ugovora, zadrzan pasos");
        let Some(loc) = timed(
            &stats,
            "case.open",
            303,
            c.post_form_located(
                "/staff/cases/new",
                &[
                    ("csrf", &csrf),
                    ("kind", "labour_exploitation"),
                    ("summary", &summary),
                ],
            ),
        )
        .await
        else {
            continue;
        };
        timed(&stats, "case.show", 200, staff_get(&c, &loc)).await;
        let summary = format!("{summary}; poslodavac identifikovan");
        timed(
            &stats,
            "case.update",
            303,
            c.post_form_located(
                &format!("{loc}/details"),
                &[
                    ("csrf", &csrf),
                    ("summary", &summary),
                    ("lx_employer", "Gradjevina Primer d.o.o."),
                    ("lx_workers_affected", "12"),
                ],
            ),
        )
        .await;
        timed(
            &stats,
            "case.task",
            303,
            c.post_form_located(
                &format!("{loc}/tasks"),
                &[("csrf", &csrf), ("task_title", "Pozvati inspekciju rada")],
            ),
        )
        .await;
        timed(
            &stats,
            "case.note",
            303,
            c.post_form_located(
                &format!("{loc}/notes"),
                &[
                    ("csrf", &csrf),
                    ("note_text", "Razgovor sa korisnikom, dogovoren sastanak."),
                ],
            ),
        )
        .await;
        timed(&stats, "case.list", 200, staff_get(&c, "/staff/cases")).await;
    }
}

/// A portal visitor's request: (status, body); `None` when no answer came.
async fn answer(
    req: impl std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
) -> Option<(u16, String)> {
    let r = req.await.ok()?;
    let status = r.status().as_u16();
    let body = r.text().await.ok()?;
    Some((status, body))
}

async fn visitor(base: String, stats: Arc<Stats>, until: Instant, seed: u64) {
    let mut rng = Rng::new(seed);
    let v = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{base}{p}");
    let questions = [
        "q-fees",
        "q-passport_handover",
        "q-documents",
        "q-wages",
        "q-threats",
    ];
    let queries = [
        "Agencija Primer",
        "Zaposlenje Inostranstvo",
        "+381 11 555 0101",
        "posao-nemacka.example",
        "Nepoznata firma",
    ];
    while Instant::now() < until {
        timed(&stats, "portal.home", 200, answer(v.get(url("/en")).send())).await;
        if rng.below(3) == 0 {
            // The self-check, one group of questions after another, answers carried along.
            timed(
                &stats,
                "portal.self_check",
                200,
                answer(v.get(url("/en/self-check")).send()),
            )
            .await;
            let mut answers: Vec<(String, String)> = Vec::new();
            for step in 1..=4u64 {
                if rng.below(2) == 0 {
                    let q = questions[rng.below(questions.len() as u64) as usize];
                    answers.push((q.into(), "yes".into()));
                }
                let mut form = answers.clone();
                form.push(("step".into(), step.to_string()));
                timed(
                    &stats,
                    "portal.self_check",
                    200,
                    answer(v.post(url("/en/self-check")).form(&form).send()),
                )
                .await;
            }
        }
        if rng.below(2) == 0 {
            let Some(page) = timed(
                &stats,
                "portal.agency_check",
                200,
                answer(v.get(url("/en/agency-check")).send()),
            )
            .await
            else {
                continue;
            };
            let token = input_value(&page, "token").unwrap_or_default();
            let q = queries[rng.below(queries.len() as u64) as usize];
            timed(
                &stats,
                "portal.agency_check",
                200,
                answer(
                    v.post(url("/en/agency-check"))
                        .form(&[("token", token.as_str()), ("q", q)])
                        .send(),
                ),
            )
            .await;
        }
        if rng.below(4) == 0 {
            let Some(page) = timed(
                &stats,
                "portal.report",
                200,
                answer(v.get(url("/en/send/report")).send()),
            )
            .await
            else {
                continue;
            };
            let token = input_value(&page, "token").unwrap_or_default();
            let form = reqwest::multipart::Form::new()
                .text("token", token)
                .text("link", "https://posao-nemacka.example/oglas")
                .text("agency", "Agencija Primer")
                .text("country", "DE")
                .text(
                    "text",
                    "Oglas trazi 300 evra unapred za vizu i da se preda pasos po dolasku.",
                );
            timed(
                &stats,
                "portal.report",
                200,
                answer(v.post(url("/en/send/report")).multipart(form).send()),
            )
            .await;
        }
    }
}

fn main() -> ExitCode {
    let seconds = env_u64("HAVEN_LOAD_SECONDS", 600).max(10);
    let sample = env_u64("HAVEN_LOAD_SAMPLE_SECONDS", 10).max(1);
    let n_desk = env_u64("HAVEN_LOAD_DESK", 4) as usize;
    let n_cases = env_u64("HAVEN_LOAD_CASES", 2) as usize;
    let n_visitors = env_u64("HAVEN_LOAD_VISITORS", 4) as usize;
    let demo = env_u64("HAVEN_LOAD_DEMO_SIZE", 2);
    let port = env_u64("HAVEN_LOAD_PORT", 18350) as u16;
    let backend = std::env::var("HAVEN_LOAD_BACKEND").unwrap_or_else(|_| "sqlite".into());
    let base_seed = seed("HAVEN_LOAD_SEED");
    let bin = harness::haven_bin();
    if !bin.exists() {
        println!("no haven binary at {} (set HAVEN_BIN)", bin.display());
        println!("RESULT load tried=0 failed=1");
        return ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = harness::temp_dir("haven-load-").unwrap();
    let pg_admin = ["HAVEN_LOAD_DATABASE_URL", "HAVEN_TEST_DATABASE_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let database_url = match backend.as_str() {
        "sqlite" => None,
        "postgres" => {
            let Some(admin) = &pg_admin else {
                println!("postgres: set HAVEN_LOAD_DATABASE_URL or HAVEN_TEST_DATABASE_URL");
                println!("RESULT load tried=0 failed=1");
                return ExitCode::FAILURE;
            };
            match rt.block_on(harness::fresh_pg_database(admin, "haven_bench_load")) {
                Ok(u) => Some(u),
                Err(e) => {
                    println!("postgres: {e}");
                    println!("RESULT load tried=0 failed=1");
                    return ExitCode::FAILURE;
                }
            }
        }
        other => {
            println!("unknown backend {other}");
            println!("RESULT load tried=0 failed=1");
            return ExitCode::FAILURE;
        }
    };
    let inst = Instance {
        dir: dir.path().to_path_buf(),
        database_url,
        settings: vec![
            ("HAVEN_PORTAL__CHALLENGE_AFTER".into(), "1000000000".into()),
            ("HAVEN_PORTAL__REFUSE_AFTER".into(), "1000000000".into()),
            ("HAVEN_SESSION__IDLE_TIMEOUT_MINUTES".into(), "720".into()),
        ],
    };
    let failed = rt.block_on(run(
        &inst, port, seconds, sample, n_desk, n_cases, n_visitors, demo, base_seed, &backend,
    ));
    if backend == "postgres"
        && let Some(admin) = &pg_admin
    {
        rt.block_on(harness::drop_pg_database(admin, "haven_bench_load"));
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    inst: &Instance,
    port: u16,
    seconds: u64,
    sample: u64,
    n_desk: usize,
    n_cases: usize,
    n_visitors: usize,
    demo: u64,
    base_seed: u64,
    backend: &str,
) -> u64 {
    let fail = |msg: String| {
        println!("{msg}");
        println!("RESULT load tried=0 failed=1");
        1
    };
    if demo > 0
        && let Err(e) = inst.run(&["demo", "--size", &demo.to_string()])
    {
        return fail(e);
    }
    let server = match inst.serve(port) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let staff = match harness::staff(
        inst,
        &server.base,
        "load",
        &["counsellor"],
        n_desk + n_cases,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return fail(format!("signing in: {e}")),
    };
    println!(
        "load on {backend}: {seconds} s, {n_desk} counsellors at the desk, {n_cases} on cases, {n_visitors} portal visitors (demo size {demo}, seed {base_seed}); server pid {}",
        server.pid
    );
    let stats = Arc::new(Stats::default());
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, (c, _)) in staff.into_iter().enumerate() {
        let stats = stats.clone();
        if i < n_desk {
            tasks.push(tokio::spawn(desk(
                c,
                i + 1,
                stats,
                until,
                base_seed ^ (i as u64 + 1),
            )));
        } else {
            tasks.push(tokio::spawn(cases(c, i + 1, stats, until)));
        }
    }
    for i in 0..n_visitors {
        tasks.push(tokio::spawn(visitor(
            server.base.clone(),
            stats.clone(),
            until,
            base_seed ^ ((i as u64 + 1) << 40),
        )));
    }
    // Memory and progress every `sample` seconds.
    let mut rss: Vec<(u64, u64)> = Vec::new();
    let mut last_requests = 0;
    let mut t = 0;
    while t + sample <= seconds {
        t += sample;
        tokio::time::sleep_until((start + Duration::from_secs(t)).into()).await;
        let kib = server.rss_kib().unwrap_or(0);
        rss.push((t, kib));
        let r = stats.requests.load(Ordering::Relaxed);
        println!(
            "  t={t:>4} s  rss {:>7.1} MiB  {:>7.0} req/s  errors {}",
            kib as f64 / 1024.0,
            (r - last_requests) as f64 / sample as f64,
            stats.errors.load(Ordering::Relaxed)
        );
        last_requests = r;
    }
    let mut died = 0;
    for t in tasks {
        if t.await.is_err() {
            died += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut server = server;
    let alive = server.child.try_wait().ok().flatten().is_none();
    server.kill();

    // The report.
    let ops = std::mem::take(&mut *stats.ops.lock().unwrap_or_else(|p| p.into_inner()));
    println!();
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "operation", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let mut all = Vec::new();
    let mut errors = 0;
    for (name, mut o) in ops {
        o.lat.sort();
        println!(
            "{:<20} {:>9} {:>9.1} {:>9} {:>9} {:>7}",
            name,
            o.lat.len(),
            o.lat.len() as f64 / elapsed,
            ms(pct(&o.lat, 0.5)),
            ms(pct(&o.lat, 0.99)),
            o.errors
        );
        if let Some(e) = &o.first_error {
            println!("{:<20} first error: {e}", "");
        }
        errors += o.errors;
        all.extend(o.lat);
    }
    all.sort();
    println!(
        "{:<20} {:>9} {:>9.1} {:>9} {:>9} {:>7}",
        "total",
        all.len(),
        all.len() as f64 / elapsed,
        ms(pct(&all, 0.5)),
        ms(pct(&all, 0.99)),
        errors
    );
    errors += died;
    if died > 0 {
        println!("{died} clients stopped on a transport error");
    }
    if !alive {
        println!("the server was not running at the end");
        errors += 1;
    }
    println!();
    let series: Vec<String> = rss
        .iter()
        .map(|(_, k)| format!("{:.1}", *k as f64 / 1024.0))
        .collect();
    println!(
        "server memory (VmRSS, MiB, every {sample} s): {}",
        series.join(" ")
    );
    let n = rss.len();
    let levelled = if n >= 3 {
        let max = |s: &[(u64, u64)]| s.iter().map(|(_, k)| *k).max().unwrap_or(0);
        let middle = max(&rss[n / 3..2 * n / 3]);
        let last = max(&rss[2 * n / 3..]);
        let ok = (last as f64) <= middle as f64 * 1.10;
        println!(
            "memory: largest of the middle third {:.1} MiB, of the last third {:.1} MiB: {} (criterion: last ≤ 1.10 × middle)",
            middle as f64 / 1024.0,
            last as f64 / 1024.0,
            if ok { "levelled off" } else { "STILL GROWING" }
        );
        ok
    } else {
        println!("memory: too few samples to judge (run longer)");
        false
    };
    let failed = errors + u64::from(!levelled);
    println!("RESULT load tried={} failed={failed}", all.len());
    failed
}
