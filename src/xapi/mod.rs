//! The xAPI data model and rules, pure (no I/O): version negotiation, validation, the
//! LRS-assigned properties, statement equivalence, and the index rows a statement yields.

pub mod attachments;
pub mod definitions;
pub mod document;
pub mod equivalence;
pub mod format;
pub mod ifi;
pub mod json_text;
pub mod prepare;
pub mod primitives;
pub mod schema;
pub mod signature;
pub mod validate;
pub mod version;

pub use version::XapiVersion;

/// The reserved verb that voids a statement (Data §2.3.2).
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";

/// A broken rule: where (a JSON path such as `$.actor.mbox`), which rule, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub rule: String,
    pub message: String,
}

impl Violation {
    /// Prefixes the path with the position of the statement in a batch (`$[3].actor`).
    pub fn in_batch(mut self, index: usize) -> Self {
        self.path = format!("$[{index}]{}", &self.path[1..]);
        self
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.rule)
    }
}
