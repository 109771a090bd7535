//! The State Resource (xAPI 1.0.3 Communication §2.3; xAPI 2.0 §4.1.6.2):
//! `/xapi/activities/state` with activityId, agent, registration, stateId and since.

use actix_web::Resource;

use crate::xapi::document::Kind;

pub fn resource() -> Resource {
    super::documents::resource("/activities/state", Kind::State)
}
