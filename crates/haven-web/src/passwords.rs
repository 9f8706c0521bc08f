//! Argon2 work — staff passwords and the portal's receipt codes — on a few threads of its own.
//!
//! One hash or check takes 19 MiB and tens of milliseconds of a core (OWASP's minimum, see
//! [`haven_crypto::password`]). Done on the runtime, it stalls every other request waiting on that
//! worker: with two cores, two portal reports at once held up every counsellor. Done on Tokio's
//! blocking pool, nothing bounds it: a flood of sign-ins or portal reports from many addresses
//! could ask for hundreds at once (up to 512 blocking threads × 19 MiB, about 10 GiB), and even a
//! steady trickle leaves 19 MiB blocks behind in the allocator arena of every pool thread that
//! ever hashed (measured under the CI load run: 640 MiB resident, against 300 MiB on the runtime
//! and 110–165 MiB with these threads and their workspaces).
//!
//! So every piece of Argon2 work goes to [`Passwords`]: a queue served in order by one thread per
//! core, started with the server and living as long as it. At most that many hashes run at once,
//! each thread hashes in its own [`Workspace`] (allocated once, wiped after every use), and a
//! request whose client has gone away by the time its turn comes is skipped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use haven_crypto::password::{PasswordHasher, Workspace};
use haven_domain::SecureRng;
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};

/// One piece of work for the Argon2 threads, given the thread's workspace.
type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Argon2 hashing and checking on a fixed number of threads, in the order asked.
///
/// Cloning is cheap; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    hasher: PasswordHasher,
    queue: flume::Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("hasher", &self.hasher)
            .field("threads", &self.threads)
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl Passwords {
    /// `hasher`'s settings, worked on by `threads` (at least one) threads of their own.
    ///
    /// # Errors
    /// The operating system refused to start a thread.
    pub fn new(hasher: PasswordHasher, threads: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (queue, jobs) = flume::unbounded::<Job>();
        for n in 0..threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("haven-argon2-{n}"))
                .spawn(move || {
                    let mut workspace = Workspace::new();
                    while let Ok(job) = jobs.recv() {
                        // A job that panics loses only its own answer (its caller gets an
                        // error); the thread goes on with the next.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut workspace)));
                    }
                })?;
        }
        Ok(Self {
            hasher,
            queue,
            threads,
        })
    }

    /// One thread per core of this machine.
    ///
    /// # Errors
    /// The operating system refused to start a thread.
    pub fn per_core(hasher: PasswordHasher) -> std::io::Result<Self> {
        Self::new(
            hasher,
            std::thread::available_parallelism().map_or(1, usize::from),
        )
    }

    /// The Argon2 settings, for callers that are already off the runtime (the `haven` commands).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// How many hashes or checks may run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// A PHC hash of `secret` with a fresh salt.
    pub async fn hash(&self, secret: String, rng: Arc<dyn SecureRng>) -> AppResult<String> {
        let hasher = self.hasher;
        self.run(move |workspace| hasher.hash_in(workspace, &secret, rng.as_ref()))
            .await?
            .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
    }

    /// Whether `secret` matches the PHC hash `phc` (a malformed hash never matches).
    pub async fn verify(&self, secret: String, phc: String) -> AppResult<bool> {
        let hasher = self.hasher;
        self.run(move |workspace| hasher.verify_in(workspace, &secret, &phc))
            .await
    }

    /// Queues `job` and waits for its answer.
    async fn run<T, F>(&self, job: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Workspace) -> T + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Box::new(move |workspace: &mut Workspace| {
                // Nobody waits for it any more (the client went away): skip the work.
                if !answer.is_closed() {
                    let _ = answer.send(job(workspace));
                }
            }))
            .map_err(|_| {
                AppError::Internal("password work: the Argon2 threads have stopped".into())
            })?;
        answered
            .await
            .map_err(|_| AppError::Internal("password work: the job failed".into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use haven_domain::OsRng;

    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(1024, 1, 1).unwrap()
    }

    /// Eight jobs asked for at once on two threads: two run together, never a third.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_there_are_threads() {
        let work = Passwords::new(cheap(), 2).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (work, running, most) = (work.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    work.run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        // Stay until a second job runs beside this one (or long enough that it
                        // would have, had a turn been free), so that the overlap is certain.
                        let start = Instant::now();
                        while running.load(Ordering::SeqCst) < 2
                            && start.elapsed() < Duration::from_secs(2)
                        {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "two threads, two at once");
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_thread_goes_on() {
        let work = Passwords::new(cheap(), 1).unwrap();
        let failed = work.run(|_| -> u8 { panic!("boom") }).await;
        assert!(matches!(failed, Err(AppError::Internal(_))), "{failed:?}");
        assert_eq!(
            work.run(|_| 7).await.unwrap(),
            7,
            "the one thread still works"
        );
    }

    #[tokio::test]
    async fn work_whose_caller_has_gone_is_skipped() {
        let work = Passwords::new(cheap(), 1).unwrap();
        // Hold the one thread until the second job's caller has given up.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let hold = tokio::spawn({
            let work = work.clone();
            async move {
                work.run(move |_| {
                    let _ = started.send(());
                    let _ = released.recv();
                })
                .await
            }
        });
        running.await.unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let abandoned = {
            let ran = ran.clone();
            work.run(move |_| ran.fetch_add(1, Ordering::SeqCst))
        };
        // The caller queues it, waits a moment, then goes away (as a request does when its client
        // leaves).
        assert!(
            tokio::time::timeout(Duration::from_millis(50), abandoned)
                .await
                .is_err()
        );
        release.send(()).unwrap();
        hold.await.unwrap().unwrap();
        // A job queued after it is answered, so the abandoned one has had its turn by now.
        assert_eq!(work.run(|_| 1).await.unwrap(), 1);
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "the abandoned job did not run"
        );
    }

    #[tokio::test]
    async fn a_hash_made_off_the_runtime_verifies_and_a_wrong_secret_does_not() {
        let work = Passwords::new(cheap(), 1).unwrap();
        let hash = work
            .hash("receipt-code".into(), Arc::new(OsRng))
            .await
            .unwrap();
        assert!(
            work.verify("receipt-code".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!work.verify("receipt-codf".into(), hash).await.unwrap());
        assert!(!work.verify("x".into(), "not a hash".into()).await.unwrap());
    }

    /// The thread's workspace outlives a hash: the next job finds the memory the hash used, so
    /// Argon2 does not allocate again.
    #[tokio::test]
    async fn a_thread_keeps_its_workspace_from_one_hash_to_the_next() {
        let work = Passwords::new(cheap(), 1).unwrap();
        assert_eq!(
            work.run(|ws| ws.bytes()).await.unwrap(),
            0,
            "nothing before"
        );
        let hash = work.hash("a".into(), Arc::new(OsRng)).await.unwrap();
        assert_eq!(work.run(|ws| ws.bytes()).await.unwrap(), 1024 * 1024);
        assert!(work.verify("a".into(), hash).await.unwrap());
        assert_eq!(work.run(|ws| ws.bytes()).await.unwrap(), 1024 * 1024);
    }

    #[test]
    fn at_least_one_thread() {
        assert_eq!(Passwords::new(cheap(), 0).unwrap().threads(), 1);
    }
}
