//! Validated input: each type can only be built from a request through its checks, so a
//! handler holding one cannot have skipped them.

pub mod account;
pub mod assignment;
pub mod code;
