//! Rate limits on what costs us or helps an attacker: sign-ins and registrations per client
//! address and per account, guest sessions per address. The counters are in Redis (so every
//! api replica shares them), one per action, scope and subject
//! ([`contracts::Keys::rate_limit`]), each a fixed window that starts with its first attempt
//! and expires with it: the `Retry-After` of a refusal is that counter's time to live, so
//! trying again then succeeds.

pub mod client;

use crate::domain::account::Username;
use crate::error::ApiError;
use crate::settings::Settings;
use client::ClientAddr;
use contracts::Keys;
use deadpool_redis::redis::Script;
use deadpool_redis::Pool;
use std::sync::LazyLock;

/// Counts an attempt on each key in turn (`ARGV[1]` the window in ms, `ARGV[1 + i]` the limit
/// of key i) and stops at the first over its limit: `{i, ms until its window ends}`, or
/// `{0, 0}` when all are within. A counter without expiry (it cannot normally happen) gets
/// one, so that no subject is refused for ever.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        for i, key in ipairs(KEYS) do
            local count = redis.call('INCR', key)
            local ttl = redis.call('PTTL', key)
            if ttl < 0 then
                redis.call('PEXPIRE', key, ARGV[1])
                ttl = tonumber(ARGV[1])
            end
            if count > tonumber(ARGV[i + 1]) then
                return {i, ttl}
            end
        end
        return {0, 0}
        ",
    )
});

/// What is limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Login,
    Register,
    Guest,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Register => "register",
            Action::Guest => "guest",
        }
    }

    /// The attempts, for people.
    fn attempts(self) -> &'static str {
        match self {
            Action::Login => "sign-in attempts",
            Action::Register => "registrations",
            Action::Guest => "guest sessions",
        }
    }
}

/// Who is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Address,
    Account,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Address => "address",
            Scope::Account => "account",
        }
    }
}

/// The limits of every action, shared by the api's workers.
#[derive(Clone)]
pub struct RateLimits {
    redis: Pool,
    keys: Keys,
    window_ms: u64,
    login_per_address: u64,
    login_per_account: u64,
    register_per_address: u64,
    guests_per_address: u64,
}

impl RateLimits {
    pub fn new(settings: &Settings, redis: Pool, keys: Keys) -> Self {
        Self {
            redis,
            keys,
            window_ms: settings.rate_window_seconds * 1000,
            login_per_address: settings.login_per_address,
            login_per_account: settings.login_per_account,
            register_per_address: settings.register_per_address,
            guests_per_address: settings.guests_per_address,
        }
    }

    /// Counts one attempt at `action` by `client` on `account`; refused with 429
    /// `rate_limited` once the address or the account is over its limit for the window.
    pub async fn attempt(
        &self,
        action: Action,
        client: ClientAddr,
        account: Option<&Username>,
    ) -> Result<(), ApiError> {
        let address = client.to_string();
        let mut counted = vec![(Scope::Address, address.as_str(), self.per_address(action))];
        if let Some(account) = account {
            counted.push((Scope::Account, account.as_str(), self.login_per_account));
        }
        let mut invocation = COUNT.prepare_invoke();
        invocation.arg(self.window_ms);
        for (scope, subject, limit) in &counted {
            invocation
                .key(
                    self.keys
                        .rate_limit(action.as_str(), scope.as_str(), subject),
                )
                .arg(*limit);
        }
        let mut redis = self.redis.get().await?;
        let (over, ms_left): (usize, u64) = invocation.invoke_async(&mut redis).await?;
        let Some((scope, _, limit)) = over.checked_sub(1).map(|index| counted[index]) else {
            return Ok(());
        };
        tracing::info!(
            action = action.as_str(),
            scope = scope.as_str(),
            "rate limited"
        );
        Err(ApiError::RateLimited {
            attempts: action.attempts(),
            scope,
            limit,
            window_seconds: self.window_ms / 1000,
            retry_after: ms_left.div_ceil(1000).max(1),
        })
    }

    fn per_address(&self, action: Action) -> u64 {
        match action {
            Action::Login => self.login_per_address,
            Action::Register => self.register_per_address,
            Action::Guest => self.guests_per_address,
        }
    }
}
