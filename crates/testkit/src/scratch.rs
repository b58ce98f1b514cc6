//! One test's world: a scratch database (unless the test needs none), a scratch Redis key
//! prefix and the token keys every service started from it shares. Services spawned from one
//! `Scratch` see the same data.

use crate::database::ScratchDatabase;
use crate::env::redis_url;
use crate::keys::ScratchPrefix;
use contracts::{Keys, Streams, UserId};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::SecretString;
use tokens::{Role, TokenKeys};

pub struct Scratch {
    database: Option<ScratchDatabase>,
    pub redis: ScratchPrefix,
    pub redis_url: String,
    pub tokens: TokenKeys,
}

impl Scratch {
    /// A new database and key prefix on the shared Redis (`label` shows in the prefix).
    pub async fn new(label: &str) -> Self {
        Self::on_redis(label, &redis_url()).await
    }

    /// A new database and key prefix on the Redis at `url` (a [`crate::RedisServer`]).
    pub async fn on_redis(label: &str, url: &str) -> Self {
        let database = ScratchDatabase::create()
            .await
            .expect("a scratch database (is Postgres running? deploy/local/services.sh)");
        Self {
            database: Some(database),
            ..Self::redis_only_on(label, url)
        }
    }

    /// A key prefix on the shared Redis and no database, for tests of a service that has
    /// none (the relay).
    pub fn redis_only(label: &str) -> Self {
        Self::redis_only_on(label, &redis_url())
    }

    fn redis_only_on(label: &str, url: &str) -> Self {
        Self {
            database: None,
            redis: ScratchPrefix::new(url, label),
            redis_url: url.to_owned(),
            tokens: TokenKeys::new(
                &SecretString::from(crate::JWT_SECRET),
                chrono::Duration::minutes(30),
            ),
        }
    }

    /// The scratch database; panics for a [`Scratch::redis_only`].
    pub fn database(&self) -> &ScratchDatabase {
        self.database
            .as_ref()
            .expect("this Scratch has no database (made by Scratch::redis_only)")
    }

    pub fn prefix(&self) -> &str {
        self.redis.prefix()
    }

    pub fn keys(&self) -> Keys {
        Keys::new(self.prefix())
    }

    /// A Streams client on the test's Redis.
    pub fn streams(&self) -> Streams {
        Streams::new(
            contracts::redis_pool(&self.redis_url, 4).expect("a valid Redis URL"),
            100_000,
        )
    }

    /// Makes the registered account `username` a teacher, as an operator does with
    /// `platform-admin make-teacher` (the api lets nobody register as one).
    pub async fn make_teacher(&self, username: &str) {
        let mut conn = AsyncPgConnection::establish(self.database().url())
            .await
            .expect("a connection to the scratch database");
        let command = api::admin::Command::MakeTeacher(username.to_owned());
        api::admin::run(&mut conn, command)
            .await
            .unwrap_or_else(|e| panic!("cannot make `{username}` a teacher: {e}"));
    }

    /// A token for `user` with `role`, as the api would issue it.
    pub fn token(&self, user: UserId, role: Role) -> String {
        self.tokens.issue(user, role, "tester", false).token
    }
}
