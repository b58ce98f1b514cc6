//! The shared edge seen from outside, against the real api, hub and relay (started in-process
//! by the test kit on real Postgres and Redis): the same bad request gets the same answer
//! from each; a server error says nothing about its cause but is logged under its request id;
//! the api and the hub are ready only on a migrated database.

mod logs;
mod request_ids;
mod same_answers;
mod schema;
mod server_errors;

use testkit::{spawn, Scratch, Service};

/// The api, hub and relay on one scratch database and key prefix.
pub struct Services {
    pub scratch: Scratch,
    pub api: Service,
    pub hub: Service,
    pub relay: Service,
}

impl Services {
    pub async fn start() -> Self {
        logs::capture();
        let scratch = Scratch::new("edge").await;
        let api = spawn::api(&scratch, |_| {}).await;
        let hub = spawn::hub(&scratch, |_| {}).await;
        let relay = spawn::relay(&scratch, |_| {}).await;
        Self {
            scratch,
            api,
            hub,
            relay,
        }
    }
}
