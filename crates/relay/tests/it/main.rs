//! The relay's integration tests, one binary: real relays started in this process on port 0
//! (see `testkit::spawn`) against the local Redis, a scratch key prefix per test, and a real
//! WebSocket client. One module per area of behaviour.

mod auth;
mod backpressure;
mod delivery;
mod frames;
mod resume;
mod support;
