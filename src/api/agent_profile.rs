//! The Agent Profile Resource (xAPI 1.0.3 Communication §2.6; xAPI 2.0 §4.1.6.5):
//! `/xapi/agents/profile` with agent, profileId and since.

use actix_web::Resource;

use crate::xapi::document::Kind;

pub fn resource() -> Resource {
    super::documents::resource("/agents/profile", Kind::AgentProfile)
}
