//! One statement's JSON → the typed values of its `silver_statement` row.
//!
//! The fast path deserializes into borrowed structs that name only the fields the warehouse
//! keeps (everything else is skipped without allocating). Any statement whose shape it does not
//! expect (a field of another JSON type, an array where an object belongs, a duplicate key)
//! goes through the reference path over `serde_json::Value` instead, so both give the same row
//! for every input; a unit test compares them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::measures::{iso8601_seconds, played_seconds};
use crate::xapi::ifi;

/// cmi5 §9.6.2.1 / research notes §0.9: every cmi5 statement carries the session id here.
pub const CMI5_SESSION: &str = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";
/// cmi5 §9.6.3.1 (`progress` result extension, 0–100).
pub const CMI5_PROGRESS: &str = "https://w3id.org/xapi/cmi5/result/extensions/progress";
/// xAPI Video Profile (research notes C4): context and result extensions.
pub const VIDEO: &str = "https://w3id.org/xapi/video/extensions/";
/// cmi5 §9.6.2.2: the cmi5 category and the course structure's own grouping IRIs live here;
/// they are not the course.
const CMI5_PREFIX: &str = "https://w3id.org/xapi/cmi5/";
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

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

/// Flattens one statement (an unparseable text gives the row of an empty statement, as
/// before: the raw JSON is kept either way).
pub fn flatten(json: &str) -> Flat<'_> {
    match serde_json::from_str::<Obj<Statement>>(json) {
        Ok(s) => s.0.flat(),
        Err(_) => {
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
fn course<'a>(ids: impl Iterator<Item = Cow<'a, str>>) -> Option<Cow<'a, str>> {
    ids.filter(|id| !id.starts_with(CMI5_PREFIX)).min()
}

// ---------------------------------------------------------------------------------------------
// The reference path over serde_json::Value.

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

// ---------------------------------------------------------------------------------------------
// The fast path: borrowed structs. `Obj` accepts JSON objects only (serde's derive would also
// take an array positionally), `S` strings only, `bool` booleans only; anything else
// fails the parse and sends the statement down the reference path, where such a field reads
// as absent, exactly as `Value::get`/`as_str` read it there.

/// A JSON object deserialized as `T` (never a JSON array).
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A JSON string, borrowed from the input unless it has escapes.
struct S<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for S<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = S<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<S<'de>, E> {
                Ok(S(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<S<'de>, E> {
                Ok(S(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<S<'de>, E> {
                Ok(S(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

type Raw<'a> = Option<&'a RawValue>;
type Str<'a> = Option<S<'a>>;
type LangMap<'a> = Option<Obj<BTreeMap<&'a str, &'a RawValue>>>;
type Ids<'a> = Option<Vec<Option<Obj<ActivityRef<'a>>>>>;

#[derive(Deserialize)]
struct Statement<'a> {
    #[serde(borrow)]
    actor: Option<Obj<Agent<'a>>>,
    #[serde(borrow)]
    verb: Option<Obj<Verb<'a>>>,
    #[serde(borrow)]
    object: Option<Obj<Object<'a>>>,
    #[serde(borrow)]
    result: Option<Obj<StatementResult<'a>>>,
    #[serde(borrow)]
    context: Option<Obj<Context<'a>>>,
    #[serde(borrow)]
    authority: Option<Obj<Agent<'a>>>,
}

#[derive(Deserialize)]
struct Account<'a> {
    #[serde(borrow, rename = "homePage")]
    home_page: Str<'a>,
    #[serde(borrow)]
    name: Str<'a>,
}

/// An Agent or Group: its identifier and name.
#[derive(Deserialize)]
struct Agent<'a> {
    #[serde(borrow, rename = "objectType")]
    object_type: Str<'a>,
    #[serde(borrow)]
    name: Raw<'a>,
    #[serde(borrow)]
    mbox: Str<'a>,
    #[serde(borrow)]
    mbox_sha1sum: Str<'a>,
    #[serde(borrow)]
    openid: Str<'a>,
    #[serde(borrow)]
    account: Option<Obj<Account<'a>>>,
}

/// The statement object: an Activity, Agent/Group, StatementRef or SubStatement.
#[derive(Deserialize)]
struct Object<'a> {
    #[serde(borrow, rename = "objectType")]
    object_type: Str<'a>,
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    definition: Option<Obj<Definition<'a>>>,
    #[serde(borrow)]
    mbox: Str<'a>,
    #[serde(borrow)]
    mbox_sha1sum: Str<'a>,
    #[serde(borrow)]
    openid: Str<'a>,
    #[serde(borrow)]
    account: Option<Obj<Account<'a>>>,
}

#[derive(Deserialize)]
struct Verb<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    display: LangMap<'a>,
}

#[derive(Deserialize)]
struct Definition<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    #[serde(borrow)]
    name: LangMap<'a>,
    #[serde(borrow, rename = "interactionType")]
    interaction_type: Raw<'a>,
    #[serde(borrow, rename = "correctResponsesPattern")]
    correct_responses: Raw<'a>,
}

#[derive(Deserialize)]
struct StatementResult<'a> {
    success: Option<bool>,
    completion: Option<bool>,
    #[serde(borrow)]
    score: Option<Obj<Score<'a>>>,
    #[serde(borrow)]
    duration: Str<'a>,
    #[serde(borrow)]
    response: Raw<'a>,
    #[serde(borrow)]
    extensions: Option<Obj<ResultExtensions<'a>>>,
}

#[derive(Deserialize)]
struct Score<'a> {
    #[serde(borrow)]
    scaled: Raw<'a>,
    #[serde(borrow)]
    raw: Raw<'a>,
    #[serde(borrow)]
    min: Raw<'a>,
    #[serde(borrow)]
    max: Raw<'a>,
}

#[derive(Deserialize)]
struct ResultExtensions<'a> {
    #[serde(
        borrow,
        rename = "https://w3id.org/xapi/cmi5/result/extensions/progress"
    )]
    cmi5_progress: Raw<'a>,
    #[serde(borrow, rename = "https://w3id.org/xapi/video/extensions/progress")]
    video_progress: Raw<'a>,
    #[serde(
        borrow,
        rename = "https://w3id.org/xapi/video/extensions/played-segments"
    )]
    played_segments: Raw<'a>,
    #[serde(borrow, rename = "https://w3id.org/xapi/video/extensions/time")]
    time: Raw<'a>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow)]
    registration: Raw<'a>,
    #[serde(borrow)]
    platform: Raw<'a>,
    #[serde(borrow)]
    language: Raw<'a>,
    #[serde(borrow)]
    extensions: Option<Obj<ContextExtensions<'a>>>,
    #[serde(borrow, rename = "contextActivities")]
    context_activities: Option<Obj<ContextActivities<'a>>>,
}

#[derive(Deserialize)]
struct ContextExtensions<'a> {
    #[serde(
        borrow,
        rename = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
    )]
    cmi5_session: Raw<'a>,
    #[serde(borrow, rename = "https://w3id.org/xapi/video/extensions/session-id")]
    video_session: Raw<'a>,
    #[serde(borrow, rename = "https://w3id.org/xapi/video/extensions/length")]
    video_length: Raw<'a>,
}

/// Lists only: a single object (allowed in xAPI 1.0.3, normalised to a list when stored)
/// fails the parse and takes the reference path, which then reads no ids, like the link rows.
#[derive(Deserialize)]
struct ContextActivities<'a> {
    #[serde(borrow)]
    parent: Ids<'a>,
    #[serde(borrow)]
    grouping: Ids<'a>,
}

#[derive(Deserialize)]
struct ActivityRef<'a> {
    #[serde(borrow)]
    id: Str<'a>,
}

/// `text()` of the reference path on a raw value: strings as they are, `null` as absent,
/// anything else as its compact JSON.
fn raw_text(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    let raw = raw?;
    let t = raw.get();
    match t.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<S>(t).ok().map(|s| s.0),
        _ => match serde_json::from_str::<Value>(t).ok()? {
            Value::Null => None,
            other => Some(Cow::Owned(other.to_string())),
        },
    }
}

/// A raw value that is a string (`as_str` of the reference path).
fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let t = raw.get();
    (t.as_bytes().first() == Some(&b'"'))
        .then(|| serde_json::from_str::<S>(t).ok())
        .flatten()
        .map(|s| s.0)
}

/// `number()` of the reference path: a JSON number, or a string that parses as one.
fn raw_number(raw: Raw<'_>) -> Option<f64> {
    let t = raw?.get();
    match t.as_bytes().first()? {
        b'"' => serde_json::from_str::<S>(t).ok()?.0.parse().ok(),
        b'-' | b'0'..=b'9' => serde_json::from_str::<f64>(t).ok(),
        _ => None,
    }
}

fn raw_lang<'a>(map: &LangMap<'a>) -> Option<Cow<'a, str>> {
    let o = &map.as_ref()?.0;
    ["en-US", "en", "und"]
        .iter()
        .find_map(|k| o.get(*k))
        .or_else(|| o.values().next())
        .and_then(|v| raw_str(v))
}

/// `ifi::key` of the reference path, on the identifier fields of an Agent, Group or object.
fn ifi_key(
    mbox: &Str<'_>,
    mbox_sha1sum: &Str<'_>,
    openid: &Str<'_>,
    account: &Option<Obj<Account<'_>>>,
) -> Option<String> {
    if let Some(m) = mbox {
        return Some(format!("mbox:{}", m.0.to_lowercase()));
    }
    if let Some(s) = mbox_sha1sum {
        return Some(format!("mbox_sha1sum:{}", s.0.to_lowercase()));
    }
    if let Some(s) = openid {
        return Some(format!("openid:{}", s.0));
    }
    let a = &account.as_ref()?.0;
    Some(format!(
        "account:{} {}",
        a.home_page.as_ref()?.0,
        a.name.as_ref()?.0
    ))
}

impl Agent<'_> {
    fn key(&self) -> Option<String> {
        ifi_key(&self.mbox, &self.mbox_sha1sum, &self.openid, &self.account)
    }
}

impl Object<'_> {
    fn key(&self) -> Option<String> {
        ifi_key(&self.mbox, &self.mbox_sha1sum, &self.openid, &self.account)
    }
}

fn ids<'a, 'b>(list: &'b Ids<'a>) -> impl Iterator<Item = Cow<'a, str>> + 'b {
    list.iter()
        .flatten()
        .flatten()
        .filter_map(|a| a.0.id.as_ref().map(|s| s.0.clone()))
}

impl<'a> Statement<'a> {
    fn flat(self) -> Flat<'a> {
        let actor = self.actor.map(|a| a.0);
        let object = self.object.map(|o| o.0);
        let object_type = object
            .as_ref()
            .and_then(|o| o.object_type.as_ref().map(|t| t.0.clone()))
            .unwrap_or(Cow::Borrowed("Activity"));
        let object_id = match &*object_type {
            "Agent" | "Group" => object.as_ref().and_then(Object::key).map(Cow::Owned),
            _ => raw_text(object.as_ref().and_then(|o| o.id)),
        };
        let definition = object.and_then(|o| o.definition).map(|d| d.0);
        let verb = self.verb.map(|v| v.0);
        let result = self.result.map(|r| r.0);
        let score = result.as_ref().and_then(|r| r.score.as_ref()).map(|s| &s.0);
        let rext = result
            .as_ref()
            .and_then(|r| r.extensions.as_ref())
            .map(|e| &e.0);
        let context = self.context.map(|c| c.0);
        let cext = context
            .as_ref()
            .and_then(|c| c.extensions.as_ref())
            .map(|e| &e.0);
        let activities = context
            .as_ref()
            .and_then(|c| c.context_activities.as_ref())
            .map(|ca| &ca.0);
        let segments = raw_text(rext.and_then(|e| e.played_segments));
        let voided_verb = verb
            .as_ref()
            .and_then(|v| v.id)
            .and_then(raw_str)
            .is_some_and(|id| id == VOIDED);
        let voiding_target = (voided_verb && object_type == "StatementRef")
            .then(|| object_id.clone())
            .flatten();
        let authority = self.authority.map(|a| a.0);
        Flat {
            actor_ifi: actor.as_ref().and_then(Agent::key),
            actor_object_type: actor
                .as_ref()
                .and_then(|a| a.object_type.as_ref().map(|t| t.0.clone()))
                .unwrap_or(Cow::Borrowed("Agent")),
            actor_name: raw_text(actor.as_ref().and_then(|a| a.name)),
            verb_iri: raw_text(verb.as_ref().and_then(|v| v.id)),
            verb_display: verb.as_ref().and_then(|v| raw_lang(&v.display)),
            object_type,
            object_id,
            object_activity_type: raw_text(definition.as_ref().and_then(|d| d.kind)),
            object_name: definition.as_ref().and_then(|d| raw_lang(&d.name)),
            interaction_type: raw_text(definition.as_ref().and_then(|d| d.interaction_type)),
            correct_responses: raw_text(definition.as_ref().and_then(|d| d.correct_responses)),
            registration: raw_text(context.as_ref().and_then(|c| c.registration)),
            cmi5_session_id: raw_text(cext.and_then(|e| e.cmi5_session)),
            video_session_id: raw_text(cext.and_then(|e| e.video_session)),
            result_success: result.as_ref().and_then(|r| r.success),
            result_completion: result.as_ref().and_then(|r| r.completion),
            score_scaled: raw_number(score.and_then(|s| s.scaled)),
            score_raw: raw_number(score.and_then(|s| s.raw)),
            score_min: raw_number(score.and_then(|s| s.min)),
            score_max: raw_number(score.and_then(|s| s.max)),
            duration_seconds: result
                .as_ref()
                .and_then(|r| r.duration.as_ref())
                .and_then(|d| iso8601_seconds(&d.0)),
            response: raw_text(result.as_ref().and_then(|r| r.response)),
            progress: raw_number(rext.and_then(|e| e.cmi5_progress))
                .or_else(|| raw_number(rext.and_then(|e| e.video_progress))),
            video_length: raw_number(cext.and_then(|e| e.video_length)),
            video_time: raw_number(rext.and_then(|e| e.time)),
            video_watched_seconds: segments.as_deref().and_then(played_seconds),
            video_played_segments: segments,
            voiding_target,
            authority_ifi: authority.as_ref().and_then(Agent::key),
            authority_name: raw_text(authority.as_ref().and_then(|a| a.name)),
            platform: raw_text(context.as_ref().and_then(|c| c.platform)),
            language: raw_text(context.as_ref().and_then(|c| c.language)),
            course_iri: activities.and_then(|ca| course(ids(&ca.grouping))),
            parent_iris: activities
                .map(|ca| ids(&ca.parent).collect())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fast path alone (`None` when it hands the statement to the reference path).
    fn fast(json: &str) -> Option<Flat<'_>> {
        serde_json::from_str::<Obj<Statement>>(json)
            .ok()
            .map(|s| s.0.flat())
    }

    fn same(v: &Value) -> bool {
        // PostgreSQL's jsonb text: `", "` and `": "` separators.
        let text = v
            .to_string()
            .replace("\",\"", "\", \"")
            .replace("\":", "\": ");
        let reference = reference(v);
        assert_eq!(flatten(&text), reference, "{text}");
        match fast(&text) {
            Some(f) => {
                assert_eq!(f, reference, "{text}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_fast_path_reads_the_cmi5_samples_as_the_reference_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cmi5");
        let mut n = 0;
        for scenario in std::fs::read_dir(dir).unwrap() {
            let scenario = scenario.unwrap().path();
            if !scenario.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(scenario).unwrap() {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(same(&v), "fell back on {text}");
                n += 1;
            }
        }
        assert!(n > 5);
    }

    #[test]
    fn the_fast_path_agrees_with_the_reference_on_every_shape() {
        let quiz = json!({
            "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
            "actor": {"objectType": "Agent", "name": "Ann \"A\" Lee\n", "mbox": "mailto:Ann@Example.COM"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered",
                     "display": {"fr": "a répondu", "de": "beantwortet"}},
            "object": {"id": "http://example.com/q/1", "objectType": "Activity",
                       "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                      "name": {"und": "Q1", "en": "Question 1"},
                                      "interactionType": "choice",
                                      "correctResponsesPattern": ["a[,]b", "c"],
                                      "choices": [{"id": "a", "description": {"en-US": "A"}}]}},
            "result": {"response": "a[,]b", "success": true, "completion": false,
                       "score": {"scaled": 0.5, "raw": "5", "min": 0, "max": 1e1},
                       "duration": "PT1M2.5S",
                       "extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 40,
                                      "https://w3id.org/xapi/video/extensions/played-segments": "0[.]5[,]3[.]9",
                                      "https://w3id.org/xapi/video/extensions/time": "9.5",
                                      "http://example.com/other": {"deep": [1, 2, {"x": null}]}}},
            "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                        "platform": "Moodle", "language": "en-GB",
                        "contextActivities": {
                            "parent": [{"id": "http://example.com/quiz/9"}, {"id": "http://example.com/quiz/1"}],
                            "grouping": [{"id": "https://w3id.org/xapi/cmi5/x"},
                                         {"id": "http://example.com/course/b"},
                                         {"id": "http://example.com/course/a", "objectType": "Activity"}],
                            "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]},
                        "extensions": {"https://w3id.org/xapi/cmi5/context/extensions/sessionid": 17,
                                       "https://w3id.org/xapi/video/extensions/session-id": "v-1",
                                       "https://w3id.org/xapi/video/extensions/length": "120"}},
            "authority": {"objectType": "Agent", "account": {"homePage": "http://cairn", "name": "key 1"}},
            "timestamp": "2026-11-27T10:00:00Z"
        });
        assert!(same(&quiz));

        let mut variants = Vec::new();
        let mut v = quiz.clone();
        v["actor"] = json!({"objectType": "Group", "member": [{"mbox": "mailto:m@x.org"}],
                            "mbox_sha1sum": "ABCDEF"});
        variants.push(v);
        let mut v = quiz.clone();
        v["actor"] = json!({"openid": "http://id.example.com/ann", "name": null});
        variants.push(v);
        let mut v = quiz.clone();
        v["actor"] = json!({"account": {"homePage": "http://x.org"}});
        variants.push(v);
        let mut v = quiz.clone();
        v["object"] =
            json!({"objectType": "Agent", "account": {"homePage": "http://x.org", "name": "n"}});
        variants.push(v);
        let mut v = quiz.clone();
        v["verb"] =
            json!({"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}});
        v["object"] =
            json!({"objectType": "StatementRef", "id": "8a6f5b8e-6e0f-4a41-9d7c-6f1f4c2b7c11"});
        variants.push(v);
        let mut v = quiz.clone();
        v["object"] = json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:s@x.org"},
                             "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"},
                             "context": {"contextActivities": {"parent": [{"id": "http://x.org/p"}]}}});
        variants.push(v);
        let mut v = quiz.clone();
        v["verb"]["display"] = json!({"zh": 1, "ab": "first"});
        v["object"]["definition"]["name"] = json!({"en-US": 5, "en": "five"});
        variants.push(v);
        let mut v = quiz.clone();
        v["result"]["response"] = json!(42);
        v["result"]["score"] = json!({"raw": "x", "scaled": null, "max": true});
        v["result"]["duration"] = json!("not a duration");
        v["context"]["registration"] = Value::Null;
        v["context"]["contextActivities"] =
            json!({"grouping": [], "parent": [null, {"definition": {}}]});
        variants.push(v);
        let mut v = quiz.clone();
        v["context"]["extensions"] = json!({});
        v["result"]["extensions"] =
            json!({"https://w3id.org/xapi/video/extensions/progress": 0.25});
        variants.push(v);
        for key in ["result", "context", "object", "verb", "actor", "authority"] {
            let mut v = quiz.clone();
            v.as_object_mut().unwrap().remove(key);
            variants.push(v);
        }
        for v in &variants {
            assert!(same(v), "fell back on {v}");
        }

        // Shapes only the reference path reads (the fast path must hand them over).
        let mut odd = Vec::new();
        let mut v = quiz.clone();
        v["actor"]["mbox"] = json!(7);
        odd.push(v);
        let mut v = quiz.clone();
        v["context"]["contextActivities"]["parent"] = json!({"id": "http://x.org/single"});
        odd.push(v);
        let mut v = quiz.clone();
        v["result"]["extensions"] = json!(["not", "an", "object"]);
        odd.push(v);
        let mut v = quiz.clone();
        v["result"]["success"] = json!("yes");
        odd.push(v);
        let mut v = quiz.clone();
        v["object"]["objectType"] = json!(["Agent"]);
        odd.push(v);
        odd.push(json!(["not", "a", "statement"]));
        odd.push(json!("text"));
        for v in &odd {
            assert!(!same(v), "the fast path took {v}");
        }
        assert_eq!(flatten("not json"), reference(&Value::Null));
        let dup = r#"{"actor": {"mbox": "mailto:a@x.org", "mbox": "mailto:b@x.org"}}"#;
        assert_eq!(
            flatten(dup).actor_ifi.as_deref(),
            Some("mbox:mailto:b@x.org")
        );
    }

    #[test]
    fn course_and_parents_come_from_context_activities() {
        let v = json!({"context": {"contextActivities": {
            "parent": [{"id": "http://x.org/p2"}, {"id": "http://x.org/p1"}],
            "grouping": [{"id": "https://w3id.org/xapi/cmi5/a"}, {"id": "http://x.org/c2"}, {"id": "http://x.org/c1"}]}}});
        let f = reference(&v);
        assert_eq!(f.course_iri.as_deref(), Some("http://x.org/c1"));
        assert_eq!(f.parent_iris, vec!["http://x.org/p2", "http://x.org/p1"]);
        assert!(same(&v));
    }
}
