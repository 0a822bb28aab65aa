//! IAM policy documents: parsed once, at write time, into a typed AST, and evaluated against a
//! request with AWS's combining rule (explicit deny > allow > implicit deny).
//!
//! This is the foundation's subset: `Version`, `Id`, `Statement` (object or list), `Sid`,
//! `Effect`, `Action`/`NotAction`, `Resource`/`NotResource`. Elements the evaluator does not
//! understand yet (`Condition`, `Principal`, `NotPrincipal`) are refused at parse time rather
//! than ignored, so no policy can ever be evaluated more permissively than written.

mod document;
mod evaluate;
mod pattern;

pub use document::{Effect, ParseError, Policy, Statement};
pub use evaluate::{Decision, Request, evaluate};
