//! Cairn's own conformance tests, written from the xAPI specification and keyed by
//! requirement: the section and, where one exists, the XAPI-xxxxx id. Each test talks HTTP
//! to a fresh Cairn on a fresh database, for both 1.0.3 and 2.0.0 version headers.

#[path = "../tests/helpers/mod.rs"]
mod helpers;

mod activities_agents;
mod alternate_syntax;
mod attachments;
mod communication;
mod concurrency;
mod data_lifecycle;
mod data_statement;
mod documents;
mod late_targets;
mod paging;
