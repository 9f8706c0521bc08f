//! Crash consistency: the real `haven serve` is killed with SIGKILL at random moments while
//! counsellors record hotline contacts and work on cases, many times, on SQLite and PostgreSQL.
//! After each kill `haven check` and `haven audit verify` must pass (the latter also against a
//! signed checkpoint taken just before the round's writes); after each restart every write that
//! was acknowledged (a complete `303 See Other`) must be there and intact.
//!
//! Environment:
//! - `HAVEN_CRASH_ROUNDS` kills per backend (default 20);
//! - `HAVEN_CRASH_WRITERS` concurrent clients (default 4: half at the desk, half on cases);
//! - `HAVEN_CRASH_BACKENDS` `sqlite`, `postgres` or `sqlite,postgres` (default: SQLite, and
//!   PostgreSQL too when a URL is given);
//! - `HAVEN_CRASH_DATABASE_URL` (or `HAVEN_TEST_DATABASE_URL`): a PostgreSQL server; the run
//!   makes its own database `haven_bench_crash` there and drops it afterwards;
//! - `HAVEN_CRASH_PORT` the first port (default 18310; PostgreSQL uses the port + 20);
//! - `HAVEN_CRASH_KILL_MS` the longest wait from the round's first acknowledged write to the
//!   kill (default 2000; the wait is drawn uniformly from 0 to it);
//! - `HAVEN_CRASH_SEED` to repeat a run's kill moments and choices;
//! - `HAVEN_BIN` the `haven` binary (default: beside this program).
//!
//! The last lines are `RESULT crash-<backend> tried=<rounds> failed=<n>`, where `n` counts
//! acknowledged writes lost or changed (each once), `haven check` and `haven audit verify` runs that failed,
//! and requests answered with an unexpected status while the server was up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use haven_bench::harness::{self, Client, Instance, Rng, StatusCode, env_u64, seed};

/// A contact whose recording was acknowledged.
#[derive(Debug, Clone)]
struct ContactRec {
    id: String,
    phone: String,
    summary: String,
    notes: String,
}

/// A case whose opening was acknowledged, with what was acknowledged on it since.
#[derive(Debug, Clone)]
struct CaseRec {
    id: String,
    /// The summary and employer of the last acknowledged update (or the opening).
    summary: String,
    employer: String,
    /// An update sent when the server died: it may or may not have been committed.
    pending: Option<(String, String)>,
    notes: Vec<String>,
    tasks: Vec<String>,
}

/// One client: a counsellor at the desk or on cases, with everything it was told was saved.
struct Writer {
    n: usize,
    desk: bool,
    client: Client,
    user: harness::TestUser,
    csrf: String,
    seq: u64,
    rng: Rng,
    contacts: Vec<ContactRec>,
    cases: Vec<CaseRec>,
    /// Writes acknowledged in the current round.
    acked: usize,
    /// Writes acknowledged by all writers, for the moment of the kill.
    progress: Arc<AtomicU64>,
    /// Requests answered with something other than success while the server was up.
    unexpected: Vec<String>,
}

/// What a request came to.
enum Outcome {
    /// A complete `303` with its `Location`.
    Acked(String),
    /// The server answered something else (a defect, unless the server was dying).
    Other(u16),
    /// No complete answer: the server died.
    Gone,
}

async fn post(c: &Client, path: &str, fields: &[(&str, &str)]) -> Outcome {
    match tokio::time::timeout(Duration::from_secs(30), c.post_form_located(path, fields)).await {
        Ok(Some((303, loc))) => Outcome::Acked(loc),
        Ok(Some((status, _))) => Outcome::Other(status),
        Ok(None) | Err(_) => Outcome::Gone,
    }
}

impl Writer {
    fn marker(&mut self, round: u64) -> String {
        self.seq += 1;
        // Letters and digits only (nothing an HTML page would escape), and closed by `z` so
        // that no marker is the beginning of another.
        format!("r{round}w{}s{}z", self.n, self.seq)
    }

    /// Writes until the server stops answering; returns the writer.
    async fn run(mut self, round: u64) -> Writer {
        self.acked = 0;
        loop {
            let more = if self.desk {
                self.contact(round).await
            } else {
                self.case_step(round).await
            };
            // A server that keeps refusing is a defect already counted; stop writing.
            if !more || self.unexpected.len() > 50 {
                return self;
            }
        }
    }

    fn ack(&mut self) {
        self.acked += 1;
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    fn other(&mut self, what: &str, status: u16) {
        // A 5xx from a server being killed cannot happen (it has no time to answer); any
        // non-success answer is a defect to look at.
        self.unexpected.push(format!("{what}: status {status}"));
    }

    async fn contact(&mut self, round: u64) -> bool {
        let m = self.marker(round);
        let phone = format!("+3816{}{:07}", self.n % 10, self.seq % 10_000_000);
        let summary = format!("Poziv {m} provera ponude za posao u inostranstvu");
        let notes = format!("Beleska {m}: traze depozit i pasos");
        let res = post(
            &self.client,
            "/staff/desk/new",
            &haven_bench::intake_form(&self.csrf, &phone, &summary, &notes),
        )
        .await;
        match res {
            Outcome::Acked(loc) => {
                let Some(id) = loc.strip_prefix("/staff/desk/contacts/") else {
                    self.unexpected.push(format!("contact saved to {loc}"));
                    return true;
                };
                self.contacts.push(ContactRec {
                    id: id.to_owned(),
                    phone,
                    summary,
                    notes,
                });
                self.ack();
                true
            }
            Outcome::Other(s) => {
                self.other("record a contact", s);
                true
            }
            Outcome::Gone => false,
        }
    }

    async fn case_step(&mut self, round: u64) -> bool {
        let m = self.marker(round);
        let choice = self.rng.below(10);
        if self.cases.is_empty() || choice == 0 {
            let summary = format!("Slucaj {m} rad bez ugovora");
            let res = post(
                &self.client,
                "/staff/cases/new",
                &[
                    ("csrf", &self.csrf),
                    ("kind", "labour_exploitation"),
                    ("summary", &summary),
                ],
            )
            .await;
            return match res {
                Outcome::Acked(loc) => {
                    let Some(id) = loc.strip_prefix("/staff/cases/") else {
                        self.unexpected.push(format!("case opened at {loc}"));
                        return true;
                    };
                    self.cases.push(CaseRec {
                        id: id.to_owned(),
                        summary,
                        employer: String::new(),
                        pending: None,
                        notes: Vec::new(),
                        tasks: Vec::new(),
                    });
                    self.ack();
                    true
                }
                Outcome::Other(s) => {
                    self.other("open a case", s);
                    true
                }
                Outcome::Gone => false,
            };
        }
        let k = self.rng.below(self.cases.len() as u64) as usize;
        let id = self.cases[k].id.clone();
        match choice {
            1..=4 => {
                let summary = format!("Slucaj {m} azurirano");
                let employer = format!("Firma {m}");
                self.cases[k].pending = Some((summary.clone(), employer.clone()));
                let res = post(
                    &self.client,
                    &format!("/staff/cases/{id}/details"),
                    &[
                        ("csrf", &self.csrf),
                        ("summary", &summary),
                        ("lx_employer", &employer),
                        ("lx_workers_affected", "3"),
                    ],
                )
                .await;
                match res {
                    Outcome::Acked(_) => {
                        let c = &mut self.cases[k];
                        c.summary = summary;
                        c.employer = employer;
                        c.pending = None;
                        self.ack();
                        true
                    }
                    Outcome::Other(s) => {
                        self.cases[k].pending = None;
                        self.other("update a case", s);
                        true
                    }
                    Outcome::Gone => false,
                }
            }
            5..=7 => {
                let text = format!("Beleska {m} razgovor sa korisnikom");
                let res = post(
                    &self.client,
                    &format!("/staff/cases/{id}/notes"),
                    &[("csrf", &self.csrf), ("note_text", &text)],
                )
                .await;
                match res {
                    Outcome::Acked(_) => {
                        self.cases[k].notes.push(text);
                        self.ack();
                        true
                    }
                    Outcome::Other(s) => {
                        self.other("add a note", s);
                        true
                    }
                    Outcome::Gone => false,
                }
            }
            _ => {
                let title = format!("Zadatak {m} pozvati inspekciju");
                let res = post(
                    &self.client,
                    &format!("/staff/cases/{id}/tasks"),
                    &[("csrf", &self.csrf), ("task_title", &title)],
                )
                .await;
                match res {
                    Outcome::Acked(_) => {
                        self.cases[k].tasks.push(title);
                        self.ack();
                        true
                    }
                    Outcome::Other(s) => {
                        self.other("add a task", s);
                        true
                    }
                    Outcome::Gone => false,
                }
            }
        }
    }

    /// Reads back every acknowledged write; returns (writes checked, problems). A case update
    /// that was in flight at the kill is settled to whichever version the server kept.
    async fn verify(mut self) -> (Writer, usize, Vec<String>) {
        let mut checked = 0;
        let mut problems = Vec::new();
        // A write found lost or changed is counted once: it is then no longer expected.
        let mut gone = Vec::new();
        for rec in &self.contacts {
            checked += 1;
            let page = self
                .client
                .get(&format!("/api/v1/contacts/{}", rec.id))
                .await;
            if page.status != StatusCode::OK {
                problems.push(format!("contact {} lost ({})", rec.id, page.status));
                gone.push(rec.id.clone());
                continue;
            }
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&page.text) else {
                problems.push(format!("contact {}: not JSON", rec.id));
                continue;
            };
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let list = |k: &str| -> Vec<String> {
                v[k].as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut bad = Vec::new();
            if s("summary") != rec.summary {
                bad.push("summary");
            }
            if s("notes") != rec.notes {
                bad.push("notes");
            }
            if s("phone").replace(' ', "") != rec.phone {
                bad.push("phone");
            }
            if s("line") != "sos" || s("channel") != "phone" {
                bad.push("line/channel");
            }
            if s("caller_type") != "potential_victim" || s("urgency") != "urgent" {
                bad.push("caller/urgency");
            }
            if list("categories") != ["labour.job_offer"] {
                bad.push("categories");
            }
            let mut countries = list("countries");
            countries.sort();
            if countries != ["DE", "RS"] {
                bad.push("countries");
            }
            if v["duration_seconds"].as_i64() != Some(200) {
                bad.push("duration");
            }
            if !v["voided_at"].is_null() {
                bad.push("voided");
            }
            if !bad.is_empty() {
                problems.push(format!("contact {} changed: {}", rec.id, bad.join(", ")));
                gone.push(rec.id.clone());
            }
        }
        self.contacts.retain(|c| !gone.contains(&c.id));
        for rec in &mut self.cases {
            checked += 1 + rec.notes.len() + rec.tasks.len();
            let page = self.client.get(&format!("/staff/cases/{}", rec.id)).await;
            if page.status != StatusCode::OK {
                problems.push(format!(
                    "case {} lost ({}) with {} notes and {} tasks",
                    rec.id,
                    page.status,
                    rec.notes.len(),
                    rec.tasks.len()
                ));
                gone.push(rec.id.clone());
                continue;
            }
            let has = |s: &str| s.is_empty() || page.text.contains(s);
            let acked = has(&rec.summary) && has(&rec.employer);
            let pending = rec.pending.as_ref().is_some_and(|(s, e)| has(s) && has(e));
            if pending {
                let (s, e) = rec.pending.take().unwrap_or_default();
                rec.summary = s;
                rec.employer = e;
            } else if acked {
                rec.pending = None;
            } else {
                problems.push(format!(
                    "case {}: the last acknowledged details are not there",
                    rec.id
                ));
                rec.summary.clear();
                rec.employer.clear();
                rec.pending = None;
            }
            let lost_notes = rec.notes.iter().filter(|n| !has(n)).count();
            let lost_tasks = rec.tasks.iter().filter(|t| !has(t)).count();
            let kept = |v: &[String]| v.iter().filter(|x| has(x)).cloned().collect::<Vec<_>>();
            let (notes, tasks) = (kept(&rec.notes), kept(&rec.tasks));
            if lost_notes + lost_tasks > 0 {
                problems.push(format!(
                    "case {}: {lost_notes} of {} notes and {lost_tasks} of {} tasks lost",
                    rec.id,
                    rec.notes.len(),
                    rec.tasks.len()
                ));
            }
            rec.notes = notes;
            rec.tasks = tasks;
        }
        self.cases.retain(|c| !gone.contains(&c.id));
        (self, checked, problems)
    }
}

/// Runs the rounds on one backend; returns the number of failures.
async fn backend(name: &str, database_url: Option<String>, port: u16, rounds: u64) -> u64 {
    let dir = harness::temp_dir(&format!("haven-crash-{name}-")).unwrap();
    let inst = Instance {
        dir: dir.path().to_path_buf(),
        database_url,
        settings: vec![
            // Sessions outlive the whole run (the default idle timeout is 30 minutes).
            ("HAVEN_SESSION__IDLE_TIMEOUT_MINUTES".into(), "720".into()),
        ],
    };
    let writers_n = env_u64("HAVEN_CRASH_WRITERS", 4).max(2) as usize;
    let kill_max = env_u64("HAVEN_CRASH_KILL_MS", 2000).max(1);
    let base_seed = seed("HAVEN_CRASH_SEED");
    println!(
        "crash {name}: {rounds} rounds, {writers_n} writers, kills 0..{kill_max} ms after the first acknowledged write, seed {base_seed}"
    );
    let mut rng = Rng::new(base_seed);
    let mut failed = 0u64;
    let server = match inst.serve(port) {
        Ok(s) => s,
        Err(e) => {
            println!("crash {name}: {e}");
            return 1;
        }
    };
    let signed_in =
        match harness::staff(&inst, &server.base, "crash", &["counsellor"], writers_n).await {
            Ok(s) => s,
            Err(e) => {
                println!("crash {name}: signing in: {e}");
                return 1;
            }
        };
    let mut server = Some(server);
    let progress = Arc::new(AtomicU64::new(0));
    let mut writers: Vec<Writer> = signed_in
        .into_iter()
        .enumerate()
        .map(|(i, (client, user))| Writer {
            n: i + 1,
            desk: i % 2 == 0,
            client,
            user,
            csrf: String::new(),
            seq: 0,
            rng: Rng::new(base_seed ^ ((i as u64 + 1) << 32)),
            contacts: Vec::new(),
            cases: Vec::new(),
            acked: 0,
            progress: progress.clone(),
            unexpected: Vec::new(),
        })
        .collect();
    let started = Instant::now();
    for round in 1..=rounds + 1 {
        let last = round == rounds + 1;
        // (Re)start; the first round's server is already up.
        let srv = match server.take() {
            Some(s) => s,
            None => match inst.serve(port) {
                Ok(s) => s,
                Err(e) => {
                    println!("round {round}: the server did not start again: {e}");
                    failed += 1;
                    break;
                }
            },
        };
        // Sessions live in the database: a restart keeps them. If one did not, sign in again.
        for w in &mut writers {
            let mut csrf = harness::csrf_of(&w.client, "/staff/desk/new").await;
            if csrf.is_err() {
                w.client = Client::new(&srv.base);
                w.client.sign_in(&w.user).await;
                csrf = harness::csrf_of(&w.client, "/staff/desk/new").await;
            }
            w.csrf = csrf.unwrap_or_default();
        }
        // Everything acknowledged so far must be there.
        let mut tasks = Vec::new();
        for w in writers.drain(..) {
            tasks.push(tokio::spawn(w.verify()));
        }
        let mut checked = 0;
        let mut problems = Vec::new();
        for t in tasks {
            let (w, n, p) = t.await.unwrap();
            checked += n;
            problems.extend(p);
            writers.push(w);
        }
        writers.sort_by_key(|w| w.n);
        if round > 1 {
            println!(
                "  after restart {}: {checked} acknowledged writes read back, {} lost or changed",
                round - 1,
                problems.len()
            );
        }
        for p in problems.iter().take(20) {
            println!("    LOST {p}");
        }
        failed += problems.len() as u64;
        let mut srv = srv;
        if last {
            srv.kill();
            break;
        }
        // A signed checkpoint of the audit chains as they are now: after the kill, the chains
        // must still hold it (nothing already chained may be lost or rewritten).
        let checkpoint = inst.dir.join(format!("checkpoint-{round}.json"));
        let cp_path = checkpoint.to_string_lossy().into_owned();
        if let Err(e) = inst.run(&["audit", "checkpoint", "--out", &cp_path]) {
            println!("round {round}: haven audit checkpoint FAILED: {e}");
            failed += 1;
        }
        // Write, and kill at a random moment once the first write of the round was
        // acknowledged (a freshly started server can take a moment to answer).
        let wait = rng.below(kill_max);
        let before = progress.load(Ordering::Relaxed);
        let mut tasks = Vec::new();
        for w in writers.drain(..) {
            tasks.push(tokio::spawn(w.run(round)));
        }
        let first = Instant::now() + Duration::from_secs(60);
        while progress.load(Ordering::Relaxed) == before && Instant::now() < first {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(wait)).await;
        srv.kill();
        let mut acked = 0;
        let mut unexpected = Vec::new();
        for t in tasks {
            let mut w = t.await.unwrap();
            acked += w.acked;
            unexpected.append(&mut w.unexpected);
            writers.push(w);
        }
        writers.sort_by_key(|w| w.n);
        drop(srv);
        for u in &unexpected {
            println!("    UNEXPECTED {u}");
        }
        failed += unexpected.len() as u64;
        // The data as the crash left it: the CLI's own checks.
        let check = inst.run(&["check"]);
        let audit = if checkpoint.exists() {
            inst.run(&["audit", "verify", "--checkpoint", &cp_path])
        } else {
            inst.run(&["audit", "verify"])
        };
        let verdict = |r: &Result<String, String>| if r.is_ok() { "passed" } else { "FAILED" };
        println!(
            "round {round}: killed {wait} ms after the first acknowledgement, {acked} writes acknowledged; haven check {}, haven audit verify {}",
            verdict(&check),
            verdict(&audit)
        );
        for r in [&check, &audit] {
            if let Err(e) = r {
                failed += 1;
                let tail: Vec<&str> = e.lines().rev().take(8).collect();
                println!("    {}", tail.join("\n    "));
            }
        }
    }
    let contacts: usize = writers.iter().map(|w| w.contacts.len()).sum();
    let cases: usize = writers.iter().map(|w| w.cases.len()).sum();
    let notes: usize = writers
        .iter()
        .flat_map(|w| &w.cases)
        .map(|c| c.notes.len() + c.tasks.len())
        .sum();
    println!(
        "crash {name}: {rounds} kills in {:.0} s; {contacts} contacts, {cases} cases, {notes} notes and tasks acknowledged in all; {failed} failures",
        started.elapsed().as_secs_f64()
    );
    failed
}

fn main() -> ExitCode {
    let rounds = env_u64("HAVEN_CRASH_ROUNDS", 20).max(1);
    let port = env_u64("HAVEN_CRASH_PORT", 18310) as u16;
    let pg_url = ["HAVEN_CRASH_DATABASE_URL", "HAVEN_TEST_DATABASE_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let backends = std::env::var("HAVEN_CRASH_BACKENDS").unwrap_or_else(|_| {
        if pg_url.is_some() {
            "sqlite,postgres".into()
        } else {
            "sqlite".into()
        }
    });
    let bin = harness::haven_bin();
    if !bin.exists() {
        println!("no haven binary at {} (set HAVEN_BIN)", bin.display());
        return ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    for b in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let failed = match b {
            "sqlite" => rt.block_on(backend("sqlite", None, port, rounds)),
            "postgres" => {
                let Some(admin) = &pg_url else {
                    println!("postgres: set HAVEN_CRASH_DATABASE_URL or HAVEN_TEST_DATABASE_URL");
                    results.push(("postgres".to_owned(), 1));
                    continue;
                };
                rt.block_on(async {
                    let db = "haven_bench_crash";
                    match harness::fresh_pg_database(admin, db).await {
                        Ok(url) => {
                            let f = backend("postgres", Some(url), port + 20, rounds).await;
                            harness::drop_pg_database(admin, db).await;
                            f
                        }
                        Err(e) => {
                            println!("postgres: {e}");
                            1
                        }
                    }
                })
            }
            other => {
                println!("unknown backend {other}");
                1
            }
        };
        results.push((b.to_owned(), failed));
    }
    for (b, failed) in &results {
        println!("RESULT crash-{b} tried={rounds} failed={failed}");
    }
    if results.iter().all(|(_, f)| *f == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
