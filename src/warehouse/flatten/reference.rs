//! The reference path: the row read through `serde_json::Value`, field by field.

use std::borrow::Cow;

use serde_json::Value;

use super::super::measures::{iso8601_seconds, played_seconds};
use super::{course, Flat, CMI5_PROGRESS, CMI5_SESSION, VIDEO, VOIDED};
use crate::xapi::ifi;

/// The first entry of a language map, preferring en-US / en (display only).
fn lang(map: Option<&Value>) -> Option<Cow<'_, str>> {
    let o = map?.as_object()?;
    ["en-US", "en", "und"]
        .iter()
        .find_map(|k| o.get(*k))
        .or_else(|| o.values().next())
        .and_then(Value::as_str)
        .map(Cow::Borrowed)
}

fn text(v: Option<&Value>) -> Option<Cow<'_, str>> {
    match v? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Null => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A video profile extension (`…/video/extensions/<name>`).
fn video<'a>(ext: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    ext.and_then(|e| e.get(format!("{VIDEO}{name}")))
}

/// The ids of one `contextActivities` list (xAPI Data §2.4.6.2; stored statements hold arrays).
fn context_ids<'a>(context: Option<&'a Value>, kind: &str) -> impl Iterator<Item = Cow<'a, str>> {
    context
        .and_then(|c| c.get("contextActivities"))
        .and_then(|ca| ca.get(kind))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("id").and_then(Value::as_str).map(Cow::Borrowed))
}

pub fn reference(s: &Value) -> Flat<'_> {
    let actor = s.get("actor");
    let object = s.get("object");
    let object_type = object
        .and_then(|o| o.get("objectType"))
        .and_then(Value::as_str)
        .unwrap_or("Activity");
    let object_id = match object_type {
        "Agent" | "Group" => object.and_then(ifi::key).map(Cow::Owned),
        _ => object.and_then(|o| text(o.get("id"))),
    };
    let definition = object.and_then(|o| o.get("definition"));
    let result = s.get("result");
    let score = result.and_then(|r| r.get("score"));
    let rext = result.and_then(|r| r.get("extensions"));
    let context = s.get("context");
    let cext = context.and_then(|c| c.get("extensions"));
    let segments = text(video(rext, "played-segments"));
    let verb = s.get("verb");
    let voiding_target = (verb.and_then(|v| v.get("id")).and_then(Value::as_str) == Some(VOIDED)
        && object_type == "StatementRef")
        .then(|| object_id.clone())
        .flatten();
    let authority = s.get("authority");
    let progress =
        number(rext.and_then(|e| e.get(CMI5_PROGRESS))).or_else(|| number(video(rext, "progress")));
    Flat {
        actor_ifi: actor.and_then(ifi::key),
        actor_object_type: Cow::Borrowed(
            actor
                .and_then(|a| a.get("objectType"))
                .and_then(Value::as_str)
                .unwrap_or("Agent"),
        ),
        actor_name: actor.and_then(|a| text(a.get("name"))),
        verb_iri: verb.and_then(|v| text(v.get("id"))),
        verb_display: lang(verb.and_then(|v| v.get("display"))),
        object_type: Cow::Borrowed(object_type),
        object_id,
        object_activity_type: definition.and_then(|d| text(d.get("type"))),
        object_name: lang(definition.and_then(|d| d.get("name"))),
        interaction_type: definition.and_then(|d| text(d.get("interactionType"))),
        correct_responses: definition.and_then(|d| text(d.get("correctResponsesPattern"))),
        registration: context.and_then(|c| text(c.get("registration"))),
        cmi5_session_id: text(cext.and_then(|e| e.get(CMI5_SESSION))),
        video_session_id: text(video(cext, "session-id")),
        result_success: result
            .and_then(|r| r.get("success"))
            .and_then(Value::as_bool),
        result_completion: result
            .and_then(|r| r.get("completion"))
            .and_then(Value::as_bool),
        score_scaled: number(score.and_then(|x| x.get("scaled"))),
        score_raw: number(score.and_then(|x| x.get("raw"))),
        score_min: number(score.and_then(|x| x.get("min"))),
        score_max: number(score.and_then(|x| x.get("max"))),
        duration_seconds: result
            .and_then(|r| r.get("duration"))
            .and_then(Value::as_str)
            .and_then(iso8601_seconds),
        response: result.and_then(|r| text(r.get("response"))),
        progress,
        video_length: number(video(cext, "length")),
        video_time: number(video(rext, "time")),
        video_watched_seconds: segments.as_deref().and_then(played_seconds),
        video_played_segments: segments,
        voiding_target,
        authority_ifi: authority.and_then(ifi::key),
        authority_name: authority.and_then(|a| text(a.get("name"))),
        platform: context.and_then(|c| text(c.get("platform"))),
        language: context.and_then(|c| text(c.get("language"))),
        course_iri: course(context_ids(context, "grouping")),
        parent_iris: context_ids(context, "parent").collect(),
    }
}
