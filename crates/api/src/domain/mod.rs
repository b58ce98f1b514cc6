//! Validated input: each type can only be built from a request through its checks, so a
//! handler holding one cannot have skipped them. Each also describes itself to the OpenAPI
//! document, written next to its check so the two agree.

pub mod account;
pub mod assignment;
pub mod code;
pub mod text;
pub mod trial;
