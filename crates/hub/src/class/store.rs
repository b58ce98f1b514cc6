//! Class presence in Redis: each change is one Lua script, so an entry, the last-seen time,
//! the course's version and the announcement on the events channel never disagree, whichever
//! replica wrote them.

use super::{Entry, Event};
use contracts::{CourseId, Keys, UserId};
use redis::Script;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A course's presence keys outlive its last change by this long (last-seen times included).
const KEPT_SECONDS: u64 = 7 * 24 * 3600;

/// What every script starts with: its keys are the course's `conns`, `entries`, `seen` and
/// `version`; its first two arguments the channel and the course; `announce` counts a change
/// and publishes it (`entry` is JSON, or `null` for an entry removed).
const PRELUDE: &str = r#"
local channel, course = ARGV[1], ARGV[2]
local function announce(conn, user, seen, entry)
  local v = redis.call('INCR', KEYS[4])
  redis.call('PUBLISH', channel, '{"course":' .. course .. ',"v":' .. v .. ',"conn":"' .. conn
    .. '","user":' .. user .. ',"seen":' .. seen .. ',"entry":' .. entry .. '}')
  return v
end
local function owner(json)
  return string.format('%d', cjson.decode(json).user)
end
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// Writes (or takes over) an entry and announces it.
/// ARGV: conn, expires at, entry, now, seconds kept, user.
static UP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local conn, expires, entry, now, kept, user = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
redis.call('ZADD', KEYS[1], expires, conn)
redis.call('HSET', KEYS[2], conn, entry)
redis.call('HSET', KEYS[3], user, now)
local v = announce(conn, user, now, entry)
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], kept) end
return v
"#,
    )
});

/// Keeps an entry alive: 1 done, 0 gone (swept: write it again), -1 another socket took it.
/// ARGV: conn, socket, expires at, now.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local conn, socket, expires, now = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local current = redis.call('HGET', KEYS[2], conn)
if not current then return 0 end
if cjson.decode(current).socket ~= socket then return -1 end
redis.call('ZADD', KEYS[1], expires, conn)
redis.call('HSET', KEYS[3], owner(current), now)
return 1
"#,
    )
});

/// Removes an entry if it is still the socket's, and announces it. ARGV: conn, socket, now.
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local conn, socket, now = ARGV[3], ARGV[4], ARGV[5]
local current = redis.call('HGET', KEYS[2], conn)
if not current or cjson.decode(current).socket ~= socket then return 0 end
redis.call('ZREM', KEYS[1], conn)
redis.call('HDEL', KEYS[2], conn)
redis.call('HSET', KEYS[3], owner(current), now)
announce(conn, owner(current), now, 'null')
return 1
"#,
    )
});

/// Removes the entries whose sockets stopped renewing them (their hub died), announcing each
/// with the user's last renewal as last seen; returns the course's version. ARGV: now.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local now = ARGV[3]
for _, conn in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local current = redis.call('HGET', KEYS[2], conn)
  redis.call('ZREM', KEYS[1], conn)
  redis.call('HDEL', KEYS[2], conn)
  if current then
    local user = owner(current)
    announce(conn, user, redis.call('HGET', KEYS[3], user) or now, 'null')
  end
end
return tonumber(redis.call('GET', KEYS[4]) or '0')
"#,
    )
});

/// The live entries, last-seen times and version of a course, read at one instant. ARGV: now.
static SNAPSHOT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local entries = {}
for _, conn in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')) do
  local entry = redis.call('HGET', KEYS[2], conn)
  if entry then
    table.insert(entries, conn)
    table.insert(entries, entry)
  end
end
return {tonumber(redis.call('GET', KEYS[4]) or '0'), entries, redis.call('HGETALL', KEYS[3])}
"#,
    )
});

/// What [`Store::renew`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewed {
    Yes,
    /// The entry was swept (the hub stalled longer than the time to live): write it again.
    Gone,
    /// A newer socket of the same tab took the entry over.
    TakenOver,
}

/// A course's presence as Redis holds it.
pub struct Snapshot {
    pub version: u64,
    pub entries: HashMap<String, Entry>,
    pub seen: HashMap<UserId, i64>,
}

#[derive(Clone)]
pub struct Store {
    keys: Keys,
}

impl Store {
    pub fn new(keys: Keys) -> Self {
        Self { keys }
    }

    /// The channel every hub listens to.
    pub fn channel(&self) -> String {
        self.keys.hub_class_events()
    }

    /// The api's channel of progress changes, relayed to the courses' teachers.
    pub fn progress_channel(&self) -> String {
        self.keys.course_progress()
    }

    fn script_keys<'s>(&self, script: &'s Script, course: CourseId) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        for part in ["conns", "entries", "seen", "version"] {
            invocation.key(self.keys.hub_class(course, part));
        }
        invocation.arg(self.channel()).arg(course.0);
        invocation
    }

    pub async fn up(
        &self,
        redis: &mut deadpool_redis::Connection,
        course: CourseId,
        conn: &str,
        entry: &Entry,
        now: i64,
        expires_at: i64,
    ) -> redis::RedisResult<u64> {
        let json = serde_json::to_string(entry).expect("an entry serializes");
        self.script_keys(&UP, course)
            .arg(conn)
            .arg(expires_at)
            .arg(json)
            .arg(now)
            .arg(KEPT_SECONDS)
            .arg(entry.user.0)
            .invoke_async(redis)
            .await
    }

    pub async fn renew(
        &self,
        redis: &mut deadpool_redis::Connection,
        course: CourseId,
        conn: &str,
        entry: &Entry,
        now: i64,
        expires_at: i64,
    ) -> redis::RedisResult<Renewed> {
        let found: i64 = self
            .script_keys(&RENEW, course)
            .arg(conn)
            .arg(&entry.socket)
            .arg(expires_at)
            .arg(now)
            .invoke_async(redis)
            .await?;
        Ok(match found {
            1 => Renewed::Yes,
            0 => Renewed::Gone,
            _ => Renewed::TakenOver,
        })
    }

    pub async fn leave(
        &self,
        redis: &mut deadpool_redis::Connection,
        course: CourseId,
        conn: &str,
        socket: &str,
        now: i64,
    ) -> redis::RedisResult<()> {
        self.script_keys(&LEAVE, course)
            .arg(conn)
            .arg(socket)
            .arg(now)
            .invoke_async::<i64>(redis)
            .await
            .map(drop)
    }

    /// Sweeps expired entries; returns the course's version.
    pub async fn sweep(
        &self,
        redis: &mut deadpool_redis::Connection,
        course: CourseId,
        now: i64,
    ) -> redis::RedisResult<u64> {
        self.script_keys(&SWEEP, course)
            .arg(now)
            .invoke_async(redis)
            .await
    }

    pub async fn snapshot(
        &self,
        redis: &mut deadpool_redis::Connection,
        course: CourseId,
        now: i64,
    ) -> redis::RedisResult<Snapshot> {
        let (version, entries, seen): (u64, Vec<String>, Vec<String>) = self
            .script_keys(&SNAPSHOT, course)
            .arg(now)
            .invoke_async(redis)
            .await?;
        let entries = entries
            .chunks_exact(2)
            .filter_map(|pair| match serde_json::from_str(&pair[1]) {
                Ok(entry) => Some((pair[0].clone(), entry)),
                Err(error) => {
                    tracing::warn!(%error, conn = pair[0], "unreadable presence entry");
                    None
                }
            })
            .collect();
        let seen = seen
            .chunks_exact(2)
            .filter_map(|pair| Some((UserId(pair[0].parse().ok()?), pair[1].parse().ok()?)))
            .collect();
        Ok(Snapshot {
            version,
            entries,
            seen,
        })
    }
}

/// Reads one announcement from the channel.
pub fn parse(payload: &[u8]) -> Option<Event> {
    serde_json::from_slice(payload)
        .inspect_err(|error| tracing::warn!(%error, "unreadable presence event"))
        .ok()
}
