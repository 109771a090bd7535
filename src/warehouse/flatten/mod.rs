//! One statement's JSON → the typed values of its `silver_statement` row.
//!
//! The fast path deserializes into borrowed structs that name only the fields the warehouse
//! keeps (everything else is skipped without allocating). Any statement whose shape it does not
//! expect (a field of another JSON type, an array where an object belongs, a duplicate key)
//! goes through the reference path over `serde_json::Value` instead, so both give the same row
//! for every input; a unit test compares them.

use std::borrow::Cow;

use serde_json::Value;

mod fast;
mod reference;
#[cfg(test)]
mod tests;

pub use reference::reference;

/// cmi5 §9.6.2.1 / research notes §0.9: every cmi5 statement carries the session id here.
pub const CMI5_SESSION: &str = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";
/// cmi5 §9.6.3.1 (`progress` result extension, 0–100).
pub const CMI5_PROGRESS: &str = "https://w3id.org/xapi/cmi5/result/extensions/progress";
/// xAPI Video Profile (research notes C4): context and result extensions.
pub const VIDEO: &str = "https://w3id.org/xapi/video/extensions/";
/// cmi5 §9.6.2.2: the cmi5 category and the course structure's own grouping IRIs live here;
/// they are not the course.
pub(crate) const CMI5_PREFIX: &str = "https://w3id.org/xapi/cmi5/";
pub(crate) const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// The JSON-derived values of one `silver_statement` row.
#[derive(Debug, PartialEq, Default)]
pub struct Flat<'a> {
    pub actor_ifi: Option<String>,
    pub actor_object_type: Cow<'a, str>,
    pub actor_name: Option<Cow<'a, str>>,
    pub verb_iri: Option<Cow<'a, str>>,
    pub verb_display: Option<Cow<'a, str>>,
    pub object_type: Cow<'a, str>,
    pub object_id: Option<Cow<'a, str>>,
    pub object_activity_type: Option<Cow<'a, str>>,
    pub object_name: Option<Cow<'a, str>>,
    pub interaction_type: Option<Cow<'a, str>>,
    pub correct_responses: Option<Cow<'a, str>>,
    pub registration: Option<Cow<'a, str>>,
    pub cmi5_session_id: Option<Cow<'a, str>>,
    pub video_session_id: Option<Cow<'a, str>>,
    pub result_success: Option<bool>,
    pub result_completion: Option<bool>,
    pub score_scaled: Option<f64>,
    pub score_raw: Option<f64>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub duration_seconds: Option<f64>,
    pub response: Option<Cow<'a, str>>,
    pub progress: Option<f64>,
    pub video_length: Option<f64>,
    pub video_time: Option<f64>,
    pub video_played_segments: Option<Cow<'a, str>>,
    pub video_watched_seconds: Option<f64>,
    pub voiding_target: Option<Cow<'a, str>>,
    pub authority_ifi: Option<String>,
    pub authority_name: Option<Cow<'a, str>>,
    pub platform: Option<Cow<'a, str>>,
    pub language: Option<Cow<'a, str>>,
    /// The least `context.contextActivities.grouping` id outside the cmi5 namespace.
    pub course_iri: Option<Cow<'a, str>>,
    /// The ids of `context.contextActivities.parent`, in statement order.
    pub parent_iris: Vec<Cow<'a, str>>,
}

/// Flattens one statement (an unparseable text gives the row of an empty statement; the
/// statement itself stays in PostgreSQL).
pub fn flatten(json: &str) -> Flat<'_> {
    match fast::parse(json) {
        Some(flat) => flat,
        None => {
            let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
            reference(&v).into_static()
        }
    }
}

impl Flat<'_> {
    fn into_static(self) -> Flat<'static> {
        fn own(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            c.map(|c| Cow::Owned(c.into_owned()))
        }
        Flat {
            actor_ifi: self.actor_ifi,
            actor_object_type: Cow::Owned(self.actor_object_type.into_owned()),
            actor_name: own(self.actor_name),
            verb_iri: own(self.verb_iri),
            verb_display: own(self.verb_display),
            object_type: Cow::Owned(self.object_type.into_owned()),
            object_id: own(self.object_id),
            object_activity_type: own(self.object_activity_type),
            object_name: own(self.object_name),
            interaction_type: own(self.interaction_type),
            correct_responses: own(self.correct_responses),
            registration: own(self.registration),
            cmi5_session_id: own(self.cmi5_session_id),
            video_session_id: own(self.video_session_id),
            result_success: self.result_success,
            result_completion: self.result_completion,
            score_scaled: self.score_scaled,
            score_raw: self.score_raw,
            score_min: self.score_min,
            score_max: self.score_max,
            duration_seconds: self.duration_seconds,
            response: own(self.response),
            progress: self.progress,
            video_length: self.video_length,
            video_time: self.video_time,
            video_played_segments: own(self.video_played_segments),
            video_watched_seconds: self.video_watched_seconds,
            voiding_target: own(self.voiding_target),
            authority_ifi: self.authority_ifi,
            authority_name: own(self.authority_name),
            platform: own(self.platform),
            language: own(self.language),
            course_iri: own(self.course_iri),
            parent_iris: self
                .parent_iris
                .into_iter()
                .map(|c| Cow::Owned(c.into_owned()))
                .collect(),
        }
    }
}

/// The least id outside the cmi5 namespace (DuckDB's `min` on VARCHAR compares bytes, as
/// `str` does).
pub(crate) fn course<'a>(ids: impl Iterator<Item = Cow<'a, str>>) -> Option<Cow<'a, str>> {
    ids.filter(|id| !id.starts_with(CMI5_PREFIX)).min()
}
