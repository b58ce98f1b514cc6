//! Passwords; who is calling is [`http_edge::Caller`], and what they may do in a course is
//! [`crate::access`]'s.
//!
//! Argon2 is slow and memory-hard on purpose (19 MiB and tens of milliseconds of a core per
//! check), so an unbounded number of checks at once is how a burst of sign-ins once took the
//! api from 93 MiB to 3.4 GiB. [`Passwords`] runs them on a fixed set of threads
//! (`hashing_concurrency`) fed by a bounded queue (`hashing_queue`); a check that finds the
//! queue full is refused at once with 503 `server_busy` and `Retry-After` instead of piling
//! up. Each thread keeps its argon2 memory from one check to the next rather than allocating
//! 19 MiB every time: the allocator would keep freed blocks around per thread and arena
//! (measured: 150 MiB for nine checks on two threads), whereas this way the hashing holds
//! exactly one block per thread, however many checks come.

use crate::error::ApiError;
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

pub use http_edge::Caller;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hashes and checks passwords on `hashing_concurrency` threads; cloned into every worker.
/// The threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
}

impl Passwords {
    /// Starts `threads` hashing threads with room for `queue` checks waiting for one.
    pub fn start(threads: usize, queue: usize) -> Result<Self, ApiError> {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for index in 0..threads {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&waiting))
                .map_err(|e| ApiError::Startup(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Hashes a password with argon2id, the default parameters and a random salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move |memory| {
            let salt = SaltString::generate(&mut OsRng);
            let params = Params::default();
            compute(
                memory,
                password.as_bytes(),
                Algorithm::default(),
                Version::default(),
                params,
                salt.as_salt(),
            )
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))
        })
        .await?
    }

    /// Checks `password` against a stored argon2 hash (with the parameters it was made with).
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, ApiError> {
        self.run(move |memory| {
            fn unreadable(e: impl std::fmt::Display) -> ApiError {
                ApiError::Internal(format!("stored hash unreadable: {e}"))
            }
            let stored = PasswordHash::new(&hash).map_err(unreadable)?;
            let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
                return Err(ApiError::Internal(
                    "stored hash has no salt or output".into(),
                ));
            };
            let algorithm = Algorithm::try_from(stored.algorithm).map_err(unreadable)?;
            let version = stored
                .version
                .map(Version::try_from)
                .transpose()
                .map_err(unreadable)?;
            let params = Params::try_from(&stored).map_err(unreadable)?;
            let computed = compute(
                memory,
                password.as_bytes(),
                algorithm,
                version.unwrap_or_default(),
                params,
                salt,
            );
            // `Output` compares in constant time.
            Ok(computed.is_ok_and(|computed| computed.hash == Some(expected)))
        })
        .await?
    }

    /// Queues `work` for a hashing thread, or refuses it when the queue is full. A caller that
    /// goes away does not cancel work already queued; its answer is dropped.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .try_send(Box::new(move |memory| {
                let _ = answer.send(work(memory));
            }))
            .map_err(|e| match e {
                TrySendError::Full(_) => ApiError::HashingBusy,
                TrySendError::Disconnected(_) => {
                    ApiError::Internal("the hashing threads have stopped".into())
                }
            })?;
        answered
            .await
            .map_err(|_| ApiError::Internal("a hashing thread failed".into()))
    }
}

/// One hashing thread's argon2 memory: allocated by its first check, reused by every later one.
#[derive(Default)]
struct Memory(Vec<Block>);

/// What `argon2`'s `PasswordHasher` computes, but in `memory` instead of a fresh allocation.
fn compute<'a>(
    memory: &mut Memory,
    password: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt<'a>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buffer)?;
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let output = Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            out,
            &mut memory.0[..blocks],
        )?)
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// One hashing thread: takes the next job until every sender is gone.
fn work(waiting: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // A job that panicked poisoned nothing the others need: take the lock anyway.
        let next = waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        match next {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use argon2::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn a_hashed_password_checks_and_another_does_not() {
        let passwords = Passwords::start(1, 2).unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(passwords
            .verify("correct horse".into(), hash.clone())
            .await
            .unwrap());
        assert!(!passwords.verify("wrong horse".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_those_of_the_argon2_crate_both_ways() {
        let passwords = Passwords::start(1, 2).unwrap();
        // Stored before: made by the crate's own hasher, with other parameters too.
        let small = Params::new(4096, 3, 1, None).unwrap();
        for argon2 in [Argon2::default(), Argon2::from(small)] {
            let salt = SaltString::generate(&mut OsRng);
            let theirs = argon2
                .hash_password(b"correct horse", &salt)
                .unwrap()
                .to_string();
            assert!(passwords
                .verify("correct horse".into(), theirs.clone())
                .await
                .unwrap());
            assert!(!passwords
                .verify("correct horsE".into(), theirs)
                .await
                .unwrap());
        }
        let ours = passwords.hash("correct horse".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
    }

    #[tokio::test]
    async fn an_unreadable_stored_hash_is_our_fault_not_a_wrong_password() {
        let passwords = Passwords::start(1, 2).unwrap();
        let answer = passwords.verify("x".into(), "not a hash".into()).await;
        assert!(matches!(answer, Err(ApiError::Internal(_))));
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused_at_once() {
        let passwords = Passwords::start(1, 1).unwrap();
        let settle = || tokio::time::sleep(std::time::Duration::from_millis(100));
        // The thread is held until released, one more check fits the queue, the next is refused.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = passwords.clone();
        let busy = tokio::spawn(async move { holder.run(move |_| released.recv().is_ok()).await });
        settle().await;
        let waiter = passwords.clone();
        let queued = tokio::spawn(async move { waiter.run(|_| true).await });
        settle().await;
        assert!(matches!(
            passwords.run(|_| true).await,
            Err(ApiError::HashingBusy)
        ));
        release.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        assert!(queued.await.unwrap().unwrap());
        assert!(passwords.run(|_| true).await.unwrap(), "room again");
    }
}
