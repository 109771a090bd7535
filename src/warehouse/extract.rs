//! Bronze → silver in Rust: statement rows read from PostgreSQL are flattened into typed
//! columns and packed into Arrow record batches for DuckDB's Arrow appender.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::measures::{iso8601_seconds, played_seconds};
use crate::xapi::ifi;

/// cmi5 §9.6.2.1 / research notes §0.9: every cmi5 statement carries the session id here.
pub const CMI5_SESSION: &str = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";
/// cmi5 §9.6.3.1 (`progress` result extension, 0–100).
pub const CMI5_PROGRESS: &str = "https://w3id.org/xapi/cmi5/result/extensions/progress";
/// xAPI Video Profile (research notes C4): context and result extensions.
pub const VIDEO: &str = "https://w3id.org/xapi/video/extensions/";

/// One statement row as read from PostgreSQL.
#[derive(sqlx::FromRow)]
pub struct StatementRow {
    pub store_id: i64,
    pub seq: i64,
    pub insert_xid: Option<i64>,
    pub statement_id: Uuid,
    pub stored: DateTime<Utc>,
    pub timestamp: DateTime<Utc>,
    pub voided: bool,
    pub credential_id: Option<i64>,
    /// The statement JSON as text (kept verbatim as `raw_json`).
    pub statement: String,
}

/// One link row (statement ↔ activity or agent) as read from PostgreSQL.
#[derive(sqlx::FromRow)]
pub struct LinkRow {
    pub seq: i64,
    pub usage: String,
    pub key: String,
}

/// A column of `silver_statement`: name, Arrow type, DuckDB type.
type Col = (&'static str, DataType, &'static str);

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// The columns of `silver_statement`, in table order (the Arrow appender matches by position).
pub fn statement_columns() -> Vec<Col> {
    use DataType::{Boolean as B, Float64 as F, Int64 as I, Utf8 as S};
    vec![
        ("seq", I, "BIGINT"),
        ("store_id", I, "BIGINT"),
        ("insert_xid", I, "BIGINT"),
        ("run_id", I, "BIGINT"),
        ("statement_id", S, "VARCHAR"),
        ("stored", ts(), "TIMESTAMP"),
        ("timestamp", ts(), "TIMESTAMP"),
        ("actor_ifi", S, "VARCHAR"),
        ("actor_object_type", S, "VARCHAR"),
        ("actor_name", S, "VARCHAR"),
        ("verb_iri", S, "VARCHAR"),
        ("verb_display", S, "VARCHAR"),
        ("object_type", S, "VARCHAR"),
        ("object_id", S, "VARCHAR"),
        ("object_activity_type", S, "VARCHAR"),
        ("object_name", S, "VARCHAR"),
        ("interaction_type", S, "VARCHAR"),
        ("correct_responses", S, "VARCHAR"),
        ("registration", S, "VARCHAR"),
        ("cmi5_session_id", S, "VARCHAR"),
        ("video_session_id", S, "VARCHAR"),
        ("result_success", B, "BOOLEAN"),
        ("result_completion", B, "BOOLEAN"),
        ("score_scaled", F, "DOUBLE"),
        ("score_raw", F, "DOUBLE"),
        ("score_min", F, "DOUBLE"),
        ("score_max", F, "DOUBLE"),
        ("duration_seconds", F, "DOUBLE"),
        ("response", S, "VARCHAR"),
        ("progress", F, "DOUBLE"),
        ("video_length", F, "DOUBLE"),
        ("video_time", F, "DOUBLE"),
        ("video_played_segments", S, "VARCHAR"),
        ("video_watched_seconds", F, "DOUBLE"),
        ("voiding_target", S, "VARCHAR"),
        ("voided", B, "BOOLEAN"),
        ("credential_id", I, "BIGINT"),
        ("authority_ifi", S, "VARCHAR"),
        ("authority_name", S, "VARCHAR"),
        ("platform", S, "VARCHAR"),
        ("language", S, "VARCHAR"),
        ("raw_json", S, "VARCHAR"),
    ]
}

fn schema(cols: &[Col]) -> Arc<Schema> {
    Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t, _)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// The first entry of a language map, preferring en-US / en (display only).
fn lang(map: Option<&Value>) -> Option<String> {
    let o = map?.as_object()?;
    ["en-US", "en", "und"]
        .iter()
        .find_map(|k| o.get(*k))
        .or_else(|| o.values().next())
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Micro-seconds since the epoch, UTC (warehouse times are plain UTC `TIMESTAMP`s: the bundled
/// DuckDB has no ICU, research notes A1).
fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Builds the `silver_statement` batch for these rows.
pub fn statement_batch(rows: &[StatementRow], run_id: i64) -> anyhow::Result<RecordBatch> {
    let n = rows.len();
    let cols = statement_columns();
    let mut ints: Vec<Int64Builder> = Vec::new();
    let mut strs: Vec<StringBuilder> = Vec::new();
    let mut bools: Vec<BooleanBuilder> = Vec::new();
    let mut floats: Vec<Float64Builder> = Vec::new();
    let mut times: Vec<TimestampMicrosecondBuilder> = Vec::new();
    for (_, t, _) in &cols {
        match t {
            DataType::Int64 => ints.push(Int64Builder::with_capacity(n)),
            DataType::Utf8 => strs.push(StringBuilder::with_capacity(n, n * 32)),
            DataType::Boolean => bools.push(BooleanBuilder::with_capacity(n)),
            DataType::Float64 => floats.push(Float64Builder::with_capacity(n)),
            _ => times.push(TimestampMicrosecondBuilder::with_capacity(n)),
        }
    }
    for row in rows {
        let f = Flat::from_row(row, run_id);
        for (i, v) in f.ints.iter().enumerate() {
            ints[i].append_option(*v);
        }
        for (i, v) in f.strs.iter().enumerate() {
            strs[i].append_option(v.as_deref());
        }
        for (i, v) in f.bools.iter().enumerate() {
            bools[i].append_option(*v);
        }
        for (i, v) in f.floats.iter().enumerate() {
            floats[i].append_option(*v);
        }
        for (i, v) in f.times.iter().enumerate() {
            times[i].append_value(*v);
        }
    }
    let (mut ii, mut si, mut bi, mut fi, mut ti) = (0, 0, 0, 0, 0);
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for (_, t, _) in &cols {
        let a: ArrayRef = match t {
            DataType::Int64 => {
                ii += 1;
                Arc::new(ints[ii - 1].finish())
            }
            DataType::Utf8 => {
                si += 1;
                Arc::new(strs[si - 1].finish())
            }
            DataType::Boolean => {
                bi += 1;
                Arc::new(bools[bi - 1].finish())
            }
            DataType::Float64 => {
                fi += 1;
                Arc::new(floats[fi - 1].finish())
            }
            _ => {
                ti += 1;
                Arc::new(times[ti - 1].finish())
            }
        };
        arrays.push(a);
    }
    Ok(RecordBatch::try_new(schema(&cols), arrays)?)
}

/// A video profile extension (`…/video/extensions/<name>`).
fn video<'a>(ext: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    ext.and_then(|e| e.get(format!("{VIDEO}{name}")))
}

/// One flattened statement, its values grouped by type in column order.
struct Flat {
    ints: Vec<Option<i64>>,
    strs: Vec<Option<String>>,
    bools: Vec<Option<bool>>,
    floats: Vec<Option<f64>>,
    times: Vec<i64>,
}

impl Flat {
    fn from_row(row: &StatementRow, run_id: i64) -> Flat {
        let parsed: Value = serde_json::from_str(&row.statement).unwrap_or(Value::Null);
        let s = &parsed;
        let actor = s.get("actor");
        let object = s.get("object");
        let object_type = object
            .and_then(|o| o.get("objectType"))
            .and_then(Value::as_str)
            .unwrap_or("Activity")
            .to_string();
        let object_id = match object_type.as_str() {
            "Agent" | "Group" => object.and_then(ifi::key),
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
        let voiding_target = (verb.and_then(|v| v.get("id")).and_then(Value::as_str)
            == Some("http://adlnet.gov/expapi/verbs/voided")
            && object_type == "StatementRef")
            .then(|| object_id.clone())
            .flatten();
        let authority = s.get("authority");
        let progress = number(rext.and_then(|e| e.get(CMI5_PROGRESS)))
            .or_else(|| number(video(rext, "progress")));
        Flat {
            ints: vec![
                Some(row.seq),
                Some(row.store_id),
                row.insert_xid,
                Some(run_id),
                row.credential_id,
            ],
            strs: vec![
                Some(row.statement_id.to_string()),
                actor.and_then(ifi::key),
                Some(
                    actor
                        .and_then(|a| a.get("objectType"))
                        .and_then(Value::as_str)
                        .unwrap_or("Agent")
                        .to_string(),
                ),
                actor.and_then(|a| text(a.get("name"))),
                verb.and_then(|v| text(v.get("id"))),
                lang(verb.and_then(|v| v.get("display"))),
                Some(object_type.clone()),
                object_id,
                definition.and_then(|d| text(d.get("type"))),
                lang(definition.and_then(|d| d.get("name"))),
                definition.and_then(|d| text(d.get("interactionType"))),
                definition.and_then(|d| text(d.get("correctResponsesPattern"))),
                context.and_then(|c| text(c.get("registration"))),
                text(cext.and_then(|e| e.get(CMI5_SESSION))),
                text(video(cext, "session-id")),
                result.and_then(|r| text(r.get("response"))),
                segments.clone(),
                voiding_target,
                authority.and_then(ifi::key),
                authority.and_then(|a| text(a.get("name"))),
                context.and_then(|c| text(c.get("platform"))),
                context.and_then(|c| text(c.get("language"))),
                Some(row.statement.clone()),
            ],
            bools: vec![
                result
                    .and_then(|r| r.get("success"))
                    .and_then(Value::as_bool),
                result
                    .and_then(|r| r.get("completion"))
                    .and_then(Value::as_bool),
                Some(row.voided),
            ],
            floats: vec![
                number(score.and_then(|x| x.get("scaled"))),
                number(score.and_then(|x| x.get("raw"))),
                number(score.and_then(|x| x.get("min"))),
                number(score.and_then(|x| x.get("max"))),
                result
                    .and_then(|r| r.get("duration"))
                    .and_then(Value::as_str)
                    .and_then(iso8601_seconds),
                progress,
                number(video(cext, "length")),
                number(video(rext, "time")),
                segments.as_deref().and_then(played_seconds),
            ],
            times: vec![micros(&row.stored), micros(&row.timestamp)],
        }
    }
}

/// The columns of the bridge tables (`silver_statement_activity`, `silver_statement_agent`).
pub fn link_columns(key: &'static str) -> Vec<Col> {
    vec![
        ("seq", DataType::Int64, "BIGINT"),
        ("usage", DataType::Utf8, "VARCHAR"),
        (key, DataType::Utf8, "VARCHAR"),
    ]
}

/// A bridge batch (statement seq, usage, activity IRI or agent IFI).
pub fn link_batch(rows: &[LinkRow], key: &'static str) -> anyhow::Result<RecordBatch> {
    let mut seq = Int64Builder::with_capacity(rows.len());
    let mut usage = StringBuilder::new();
    let mut k = StringBuilder::new();
    for r in rows {
        seq.append_value(r.seq);
        usage.append_value(&r.usage);
        k.append_value(&r.key);
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        Arc::new(usage.finish()),
        Arc::new(k.finish()),
    ];
    Ok(RecordBatch::try_new(schema(&link_columns(key)), arrays)?)
}
