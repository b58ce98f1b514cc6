//! Outages of what the hub stands on: Redis stopped and started again, or flushed, under
//! editors typing on two replicas; Postgres cut off. Nothing anyone typed is lost, and the
//! replicas, late joiners and Postgres agree again afterwards.

use crate::classroom::{Classroom, Store};
use crate::external::{External, Kind};
use crate::http::Hub;
use crate::yclient::YClient;
use hub::settings::Settings;
use serde_json::json;
use std::time::Duration;
use testkit::{spawn, Proxy, RedisServer, Scratch, WAIT};

/// Past the end of any text here: editors append.
const END: usize = 1_000_000;

/// Editors typing pieces, each piece in one update, and every piece they typed.
struct Typists {
    editors: Vec<External>,
    pieces: Vec<String>,
}

impl Typists {
    /// Each editor appends one piece per round, rounds `pause` apart.
    async fn rounds(&mut self, rounds: std::ops::Range<usize>, pause: Duration) {
        for round in rounds {
            for editor in &mut self.editors {
                let piece = format!("{}{round:02};", editor.name);
                editor.insert(END, &piece).await;
                self.pieces.push(piece);
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Waits until every editor has every piece; returns the text they agree on.
    async fn agreed_text(&mut self) -> String {
        let length: usize = self.pieces.iter().map(String::len).sum();
        let mut texts = Vec::new();
        for editor in &mut self.editors {
            let condition = json!({"cmd": "wait_length", "at_least": length});
            texts.push(editor.wait_text(condition, WAIT).await);
        }
        for (editor, text) in self.editors.iter().zip(&texts) {
            assert_eq!(text, &texts[0], "{} disagrees", editor.name);
        }
        for piece in &self.pieces {
            assert_eq!(
                texts[0].matches(piece.as_str()).count(),
                1,
                "{piece} in {texts:?}"
            );
        }
        texts.swap_remove(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editors_typing_through_a_redis_restart_lose_no_piece_anywhere() {
    let mut redis = RedisServer::start();
    let scratch = Scratch::on_redis("hub", &redis.url()).await;
    let store = Store::of(&scratch);
    let adjust = |s: &mut Settings| s.sync_quiet_ms = 100;
    let first = spawn::hub(&scratch, adjust).await;
    let second = spawn::hub(&scratch, adjust).await;
    let class = Classroom::new(&store, &first).await;
    class.share(&first, "write").await;
    let room = class.file.to_string();
    // Each editor stays on its replica: an edit a replica took in without logging it could
    // then never reach the other one.
    let (to_first, to_second) = (
        [first.docs_url(class.project)],
        [second.docs_url(class.project)],
    );
    let (owner, other) = (&class.owner.1, &class.other.1);
    let mut typists = Typists {
        editors: vec![
            External::start(Kind::YWebsocket, "ana", &to_first, &room, owner),
            External::start(Kind::YWebsocket, "ben", &to_second, &room, other),
            External::start(Kind::Pycrdt, "cy", &to_first, &room, other),
            External::start(Kind::Pycrdt, "dan", &to_second, &room, owner),
        ],
        pieces: Vec::new(),
    };
    for editor in &mut typists.editors {
        editor.synced(WAIT).await;
    }
    let pause = Duration::from_millis(100);
    typists.rounds(0..10, pause).await;
    redis.stop();
    typists.rounds(10..30, pause).await;
    redis.start_again();
    typists.rounds(30..40, pause).await;

    let text = typists.agreed_text().await;
    class.late_joiner_sees(&first, &text).await;
    class.late_joiner_sees(&second, &text).await;
    store.wait_for_stored_text(class.file, &text).await;
    for editor in typists.editors {
        editor.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_redis_lost_is_seeded_again_from_the_replica_holding_it() {
    let redis = RedisServer::start();
    let scratch = Scratch::on_redis("hub", &redis.url()).await;
    let store = Store::of(&scratch);
    // Nothing reaches Postgres: the late joiner can only get the text through the log.
    let never = |s: &mut Settings| {
        s.sync_quiet_ms = 3_600_000;
        s.sync_max_delay_ms = 3_600_000;
    };
    let first = spawn::hub(&scratch, never).await;
    let second = spawn::hub(&scratch, never).await;
    let class = Classroom::new(&store, &first).await;
    let url = first.doc_url(class.project, class.file, &class.owner.1);
    let mut writer = YClient::connect(&url).await;
    let mut watcher = YClient::connect(&url).await;
    writer.append("only in memory").await;
    assert!(
        watcher
            .pump_until(WAIT, |c| c.text() == "only in memory")
            .await
    );
    // Once the writer's hub has read its own entry back, the log holds something it read.
    let log = scratch.keys().hub_document(class.file);
    let mut redis_conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut redis_conn)
        .await
        .unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg(&log)
        .query_async(&mut redis_conn)
        .await
        .unwrap();
    assert!(!exists, "the log is gone");

    class.late_joiner_sees(&second, "only in memory").await;
    // Counted just after the append the late joiner already saw.
    let reseeds = "hub_log_reseeds_total";
    let deadline = tokio::time::Instant::now() + WAIT;
    while first.metric(reseeds).await < 1.0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(first.metric(reseeds).await, 1.0);
    assert_eq!(store.stored_text(class.file).await, "", "not from Postgres");
    // The replicas go on together.
    writer.append("!").await;
    class.late_joiner_sees(&second, "only in memory!").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_cut_off_edits_flow_through_redis_and_reach_it_afterwards() {
    let scratch = Scratch::new("hub").await;
    let store = Store::of(&scratch);
    let (proxy, url) = Proxy::in_front_of(scratch.database().url()).await;
    let through_proxy = |s: &mut Settings| {
        s.database_url = url.clone().into();
        s.sync_quiet_ms = 100;
    };
    let first = spawn::hub(&scratch, through_proxy).await;
    let second = spawn::hub(&scratch, through_proxy).await;
    let class = Classroom::new(&store, &first).await;
    class.share(&first, "write").await;
    let mut alice =
        YClient::connect(&first.doc_url(class.project, class.file, &class.owner.1)).await;
    let mut bob =
        YClient::connect(&second.doc_url(class.project, class.file, &class.other.1)).await;
    alice.append("before;").await;
    assert!(bob.pump_until(WAIT, |c| c.text() == "before;").await);
    store.wait_for_stored_text(class.file, "before;").await;

    proxy.cut();
    // Access cannot be checked: the socket is closed with a code that says "try again".
    let mut newcomer =
        YClient::connect(&first.doc_url(class.project, class.file, &class.owner.1)).await;
    let (code, reason) = newcomer.closed_with(WAIT).await;
    assert_eq!(code, 1013, "{reason}");
    alice.append("during;").await;
    bob.append("more;").await;
    let all = |c: &YClient| c.text().matches(';').count() == 3;
    assert!(alice.pump_until(WAIT, all).await, "{:?}", alice.text());
    assert!(bob.pump_until(WAIT, all).await, "{:?}", bob.text());
    assert_eq!(alice.text(), bob.text());
    assert_eq!(store.stored_text(class.file).await, "before;");

    proxy.restore();
    store.wait_for_stored_text(class.file, &alice.text()).await;
    let mut back =
        YClient::connect(&first.doc_url(class.project, class.file, &class.owner.1)).await;
    let text = alice.text();
    assert!(back.pump_until(WAIT, |c| c.text() == text).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_redis_could_not_announce_takes_effect_once_it_is_back() {
    let mut redis = RedisServer::start();
    let scratch = Scratch::on_redis("hub", &redis.url()).await;
    let store = Store::of(&scratch);
    let hub = spawn::hub(&scratch, |_| {}).await;
    let class = Classroom::new(&store, &hub).await;
    class.share(&hub, "write").await;
    let mut member =
        YClient::connect(&hub.doc_url(class.project, class.file, &class.other.1)).await;
    assert!(member.pump_until(WAIT, |c| c.synced).await);

    redis.stop();
    // While Redis is away no caller gets past the token check (it needs the revocation list),
    // so the change is made the way one saved just before Redis failed would be: in Postgres
    // only, never announced.
    let path = format!("/hub/projects/{}/members/{}", class.project, class.other.0);
    let (status, body) = hub
        .call(reqwest::Method::DELETE, &path, &class.owner.1, None)
        .await;
    assert_eq!(status, 503, "{body}");
    store
        .execute(&format!(
            "DELETE FROM project_members WHERE project_id = {} AND user_id = {}",
            class.project, class.other.0
        ))
        .await;
    assert!(member.closed.is_none());
    redis.start_again();
    // The hub may have missed events while Redis was away: its sockets look access up again.
    let (code, reason) = member.closed_with(WAIT).await;
    assert_eq!(code, 4005, "{reason}");
}
