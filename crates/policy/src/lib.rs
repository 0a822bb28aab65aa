//! IAM policy documents: parsed once, at write time, into a typed AST (grammar errors become
//! `MalformedPolicyDocument` messages), and evaluated against a request with AWS's rules:
//! explicit deny > allow > implicit deny, with resource-policy grants, permissions boundaries
//! and session policies combined as spec §5.7–5.8 say.
//!
//! Pure: no I/O, no async, no clock (the caller puts `aws:CurrentTime` in the context).

mod condition;
mod context;
mod document;
mod evaluate;
mod json;
mod pattern;
mod principal;
mod variables;

pub use context::{Context, Principal, PrincipalKind, Value};
pub use document::{Effect, ParseError, Policy, PolicyKind, Statement, non_whitespace_len};
pub use evaluate::{
    Decision, Matched, Missing, Policies, Request, Source, authorize, authorize_assume,
};
