//! Black-box API tests: one binary, one module per area.

#[path = "../helpers/mod.rs"]
mod helpers;

mod foundation;
mod interop;
mod openapi;
mod planner;
mod queries;
