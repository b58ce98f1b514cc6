//! The hub's integration tests, one binary: real hubs (in this process on port 0 through
//! `testkit::spawn`, or as child processes that can be killed) against the local Redis and a
//! scratch Postgres database per test, driven over HTTP and WebSocket by our own y-protocols
//! client and by Yjs clients no one here wrote. One module per area of behaviour, then the
//! support modules.

mod access;
mod any_text;
mod budgets;
mod class;
mod clients;
mod documents;
mod events;
mod openapi_fuzz;
mod outages;
mod presence;
mod projects;
mod threads;

mod classroom;
mod external;
mod http;
mod process;
mod yclient;
