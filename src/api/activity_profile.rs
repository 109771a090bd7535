//! The Activity Profile Resource (xAPI 1.0.3 Communication §2.7; xAPI 2.0 §4.1.6.6):
//! `/xapi/activities/profile` with activityId, profileId and since.

use actix_web::Resource;

use crate::xapi::document::Kind;

pub fn resource() -> Resource {
    super::documents::resource("/activities/profile", Kind::ActivityProfile)
}
