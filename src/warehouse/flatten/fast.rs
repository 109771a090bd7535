//! The fast path: borrowed structs. `Obj` accepts JSON objects only (serde's derive would also
//! take an array positionally), `S` strings only, `bool` booleans only; anything else
//! fails the parse and sends the statement down the reference path, where such a field reads
//! as absent, exactly as `Value::get`/`as_str` read it there.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::super::measures::{iso8601_seconds, played_seconds};
use super::{course, Flat, VOIDED};

/// The row of `json` when it has the shape the structs expect.
pub fn parse(json: &str) -> Option<Flat<'_>> {
    serde_json::from_str::<Obj<Statement>>(json)
        .ok()
        .map(|s| s.0.flat())
}

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
