//! Bronze → silver in Rust: statement rows read from PostgreSQL are flattened into typed
//! columns and packed into Arrow record batches for DuckDB's Arrow appender.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use uuid::Uuid;

use super::flatten::flatten;
use super::keys::KeyCache;
use super::pgcopy::{self, Batch, Tuples};

/// One statement row as read from PostgreSQL's binary COPY, borrowed from the batch.
pub struct StatementRow<'a> {
    pub store_id: i64,
    pub seq: i64,
    pub insert_xid: Option<i64>,
    pub statement_id: Uuid,
    /// Microseconds since the Unix epoch, UTC.
    pub stored: i64,
    pub timestamp: i64,
    pub voided: bool,
    pub credential_id: Option<i64>,
    /// The statement JSON as text (flattened into the typed columns; the statement itself
    /// stays in PostgreSQL, the bronze layer).
    pub statement: &'a str,
}

/// The COPY query's column list, in the order [`StatementRow::decode`] reads them.
pub const STATEMENT_COPY_COLUMNS: &str = r#"store_id, seq, insert_xid, statement_id, stored, "timestamp", voided, credential_id, statement"#;

/// The link rows of `table` (`statement_agents` or `statement_activities`, whose IFI or IRI
/// column is `key`) of one store's statements `first..=last`, without the usages in `derived`
/// (those silver_statement holds). The store is a constant, so the planner reads the
/// `(store_id, seq)` index whatever the statistics. Joined with `stores` instead, which no
/// ANALYZE reaches (one row, under autovacuum's threshold of 50 changes), the planner guessed
/// 1,070 stores and read the whole link table on every run: in an ingest benchmark run that
/// stored 83,000 statements, 19 scans read 1.56 million activity rows (331,000 in the table).
pub fn link_rows_select(
    table: &str,
    key: &str,
    derived: &str,
    store: i64,
    first: i64,
    last: i64,
) -> String {
    format!(
        "SELECT l.seq, l.usage, l.{key} FROM {table} l \
         WHERE l.store_id = {store} AND l.seq BETWEEN {first} AND {last} \
         AND l.usage NOT IN ({derived})"
    )
}

impl<'a> StatementRow<'a> {
    /// The next row of a binary COPY batch of [`STATEMENT_COPY_COLUMNS`].
    pub fn decode(tuples: &mut Tuples<'a>) -> anyhow::Result<Option<StatementRow<'a>>> {
        let Some([store_id, seq, xid, id, stored, ts, voided, credential, statement]) =
            tuples.next_tuple::<9>()?
        else {
            return Ok(None);
        };
        Ok(Some(StatementRow {
            store_id: pgcopy::int8(store_id)?.context("NULL store_id")?,
            seq: pgcopy::int8(seq)?.context("NULL seq")?,
            insert_xid: pgcopy::int8(xid)?,
            statement_id: pgcopy::uuid(id)?,
            stored: pgcopy::timestamptz_micros(stored)?,
            timestamp: pgcopy::timestamptz_micros(ts)?,
            voided: pgcopy::boolean(voided)?,
            credential_id: pgcopy::int8(credential)?,
            statement: pgcopy::text(statement)?,
        }))
    }
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
        // Added in warehouse schema 2 (appended: old files gain them by ALTER TABLE).
        ("course_iri", S, "VARCHAR"),
        ("parent_iris", list_of_text(), "VARCHAR[]"),
        // Added in warehouse schema 3: gold's surrogate keys (see `keys`).
        ("actor_key", I, "BIGINT"),
        ("activity_key", I, "BIGINT"),
        ("course_key", I, "BIGINT"),
        ("registration_key", I, "BIGINT"),
        ("source_key", I, "BIGINT"),
        ("assessment_key", I, "BIGINT"),
    ]
}

fn schema(cols: &[Col]) -> Arc<Schema> {
    Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t, _)| Field::new(*n, t.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

fn list_of_text() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// Column builders for `silver_statement`, one field per column.
pub struct StatementBuilder {
    seq: Int64Builder,
    store_id: Int64Builder,
    insert_xid: Int64Builder,
    run_id: Int64Builder,
    statement_id: StringBuilder,
    stored: TimestampMicrosecondBuilder,
    timestamp: TimestampMicrosecondBuilder,
    actor_ifi: StringBuilder,
    actor_object_type: StringBuilder,
    actor_name: StringBuilder,
    verb_iri: StringBuilder,
    verb_display: StringBuilder,
    object_type: StringBuilder,
    object_id: StringBuilder,
    object_activity_type: StringBuilder,
    object_name: StringBuilder,
    interaction_type: StringBuilder,
    correct_responses: StringBuilder,
    registration: StringBuilder,
    cmi5_session_id: StringBuilder,
    video_session_id: StringBuilder,
    result_success: BooleanBuilder,
    result_completion: BooleanBuilder,
    score_scaled: Float64Builder,
    score_raw: Float64Builder,
    score_min: Float64Builder,
    score_max: Float64Builder,
    duration_seconds: Float64Builder,
    response: StringBuilder,
    progress: Float64Builder,
    video_length: Float64Builder,
    video_time: Float64Builder,
    video_played_segments: StringBuilder,
    video_watched_seconds: Float64Builder,
    voiding_target: StringBuilder,
    voided: BooleanBuilder,
    credential_id: Int64Builder,
    authority_ifi: StringBuilder,
    authority_name: StringBuilder,
    platform: StringBuilder,
    language: StringBuilder,
    course_iri: StringBuilder,
    parent_iris: ListBuilder<StringBuilder>,
    keys: KeyCache,
    actor_key: Int64Builder,
    activity_key: Int64Builder,
    course_key: Int64Builder,
    registration_key: Int64Builder,
    source_key: Int64Builder,
    assessment_key: Int64Builder,
}

impl StatementBuilder {
    /// Builders for `rows` statements.
    pub fn new(rows: usize) -> StatementBuilder {
        let i = || Int64Builder::with_capacity(rows);
        let s = || StringBuilder::with_capacity(rows, rows * 24);
        let b = || BooleanBuilder::with_capacity(rows);
        let f = || Float64Builder::with_capacity(rows);
        let t = || TimestampMicrosecondBuilder::with_capacity(rows);
        StatementBuilder {
            seq: i(),
            store_id: i(),
            insert_xid: i(),
            run_id: i(),
            statement_id: StringBuilder::with_capacity(rows, rows * 36),
            stored: t(),
            timestamp: t(),
            actor_ifi: s(),
            actor_object_type: s(),
            actor_name: s(),
            verb_iri: s(),
            verb_display: s(),
            object_type: s(),
            object_id: s(),
            object_activity_type: s(),
            object_name: s(),
            interaction_type: s(),
            correct_responses: s(),
            registration: s(),
            cmi5_session_id: s(),
            video_session_id: s(),
            result_success: b(),
            result_completion: b(),
            score_scaled: f(),
            score_raw: f(),
            score_min: f(),
            score_max: f(),
            duration_seconds: f(),
            response: s(),
            progress: f(),
            video_length: f(),
            video_time: f(),
            video_played_segments: s(),
            video_watched_seconds: f(),
            voiding_target: s(),
            voided: b(),
            credential_id: i(),
            authority_ifi: s(),
            authority_name: s(),
            platform: s(),
            language: s(),
            course_iri: s(),
            parent_iris: ListBuilder::with_capacity(s(), rows),
            keys: KeyCache::default(),
            actor_key: i(),
            activity_key: i(),
            course_key: i(),
            registration_key: i(),
            source_key: i(),
            assessment_key: i(),
        }
    }

    /// Appends one statement: its PostgreSQL columns and its flattened JSON.
    pub fn append(&mut self, row: &StatementRow<'_>, run_id: i64) {
        let f = flatten(row.statement);
        let keys = self.keys.keys(&f, row.credential_id);
        self.seq.append_value(row.seq);
        self.store_id.append_value(row.store_id);
        self.insert_xid.append_option(row.insert_xid);
        self.run_id.append_value(run_id);
        let mut id = uuid::Uuid::encode_buffer();
        self.statement_id
            .append_value(row.statement_id.hyphenated().encode_lower(&mut id));
        self.stored.append_value(row.stored);
        self.timestamp.append_value(row.timestamp);
        self.actor_ifi.append_option(f.actor_ifi);
        self.actor_object_type.append_value(f.actor_object_type);
        self.actor_name.append_option(f.actor_name);
        self.verb_iri.append_option(f.verb_iri);
        self.verb_display.append_option(f.verb_display);
        self.object_type.append_value(f.object_type);
        self.object_id.append_option(f.object_id);
        self.object_activity_type
            .append_option(f.object_activity_type);
        self.object_name.append_option(f.object_name);
        self.interaction_type.append_option(f.interaction_type);
        self.correct_responses.append_option(f.correct_responses);
        self.registration.append_option(f.registration);
        self.cmi5_session_id.append_option(f.cmi5_session_id);
        self.video_session_id.append_option(f.video_session_id);
        self.result_success.append_option(f.result_success);
        self.result_completion.append_option(f.result_completion);
        self.score_scaled.append_option(f.score_scaled);
        self.score_raw.append_option(f.score_raw);
        self.score_min.append_option(f.score_min);
        self.score_max.append_option(f.score_max);
        self.duration_seconds.append_option(f.duration_seconds);
        self.response.append_option(f.response);
        self.progress.append_option(f.progress);
        self.video_length.append_option(f.video_length);
        self.video_time.append_option(f.video_time);
        self.video_played_segments
            .append_option(f.video_played_segments);
        self.video_watched_seconds
            .append_option(f.video_watched_seconds);
        self.voiding_target.append_option(f.voiding_target);
        self.voided.append_value(row.voided);
        self.credential_id.append_option(row.credential_id);
        self.authority_ifi.append_option(f.authority_ifi);
        self.authority_name.append_option(f.authority_name);
        self.platform.append_option(f.platform);
        self.language.append_option(f.language);
        self.course_iri.append_option(f.course_iri);
        for p in &f.parent_iris {
            self.parent_iris.values().append_value(p);
        }
        self.parent_iris.append(true);
        self.actor_key.append_value(keys.actor);
        self.activity_key.append_option(keys.activity);
        self.course_key.append_option(keys.course);
        self.registration_key.append_option(keys.registration);
        self.source_key.append_value(keys.source);
        self.assessment_key.append_option(keys.assessment);
    }

    /// The batch, columns in table order (the Arrow appender matches by position).
    pub fn finish(mut self) -> anyhow::Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.store_id.finish()),
            Arc::new(self.insert_xid.finish()),
            Arc::new(self.run_id.finish()),
            Arc::new(self.statement_id.finish()),
            Arc::new(self.stored.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.actor_ifi.finish()),
            Arc::new(self.actor_object_type.finish()),
            Arc::new(self.actor_name.finish()),
            Arc::new(self.verb_iri.finish()),
            Arc::new(self.verb_display.finish()),
            Arc::new(self.object_type.finish()),
            Arc::new(self.object_id.finish()),
            Arc::new(self.object_activity_type.finish()),
            Arc::new(self.object_name.finish()),
            Arc::new(self.interaction_type.finish()),
            Arc::new(self.correct_responses.finish()),
            Arc::new(self.registration.finish()),
            Arc::new(self.cmi5_session_id.finish()),
            Arc::new(self.video_session_id.finish()),
            Arc::new(self.result_success.finish()),
            Arc::new(self.result_completion.finish()),
            Arc::new(self.score_scaled.finish()),
            Arc::new(self.score_raw.finish()),
            Arc::new(self.score_min.finish()),
            Arc::new(self.score_max.finish()),
            Arc::new(self.duration_seconds.finish()),
            Arc::new(self.response.finish()),
            Arc::new(self.progress.finish()),
            Arc::new(self.video_length.finish()),
            Arc::new(self.video_time.finish()),
            Arc::new(self.video_played_segments.finish()),
            Arc::new(self.video_watched_seconds.finish()),
            Arc::new(self.voiding_target.finish()),
            Arc::new(self.voided.finish()),
            Arc::new(self.credential_id.finish()),
            Arc::new(self.authority_ifi.finish()),
            Arc::new(self.authority_name.finish()),
            Arc::new(self.platform.finish()),
            Arc::new(self.language.finish()),
            Arc::new(self.course_iri.finish()),
            Arc::new(self.parent_iris.finish()),
            Arc::new(self.actor_key.finish()),
            Arc::new(self.activity_key.finish()),
            Arc::new(self.course_key.finish()),
            Arc::new(self.registration_key.finish()),
            Arc::new(self.source_key.finish()),
            Arc::new(self.assessment_key.finish()),
        ];
        Ok(RecordBatch::try_new(schema(&statement_columns()), arrays)?)
    }
}

/// The `silver_statement` batch of a binary COPY batch of [`STATEMENT_COPY_COLUMNS`].
pub fn statement_batch(copy: &Batch, run_id: i64) -> anyhow::Result<RecordBatch> {
    let mut b = StatementBuilder::new(copy.rows);
    let mut tuples = Tuples::new(&copy.bytes);
    while let Some(row) = StatementRow::decode(&mut tuples)? {
        b.append(&row, run_id);
    }
    b.finish()
}

/// The columns of the bridge tables (`silver_statement_activity`, `silver_statement_agent`).
pub fn link_columns(key: &'static str) -> Vec<Col> {
    vec![
        ("seq", DataType::Int64, "BIGINT"),
        ("usage", DataType::Utf8, "VARCHAR"),
        (key, DataType::Utf8, "VARCHAR"),
    ]
}

/// The `seq` of each row of a binary COPY batch of [`STATEMENT_COPY_COLUMNS`].
pub fn statement_seqs(copy: &Batch) -> anyhow::Result<Vec<i64>> {
    let mut seqs = Vec::with_capacity(copy.rows);
    let mut tuples = Tuples::new(&copy.bytes);
    while let Some([_, seq, ..]) = tuples.next_tuple::<9>()? {
        seqs.push(pgcopy::int8(seq)?.context("NULL seq")?);
    }
    Ok(seqs)
}

/// A bridge batch from a binary COPY batch of `seq, usage, <key>` rows, keeping the rows whose
/// `seq` is in `run_seqs` (sorted).
pub fn link_batch(
    copy: &Batch,
    key: &'static str,
    run_seqs: &[i64],
) -> anyhow::Result<RecordBatch> {
    let mut seq = Int64Builder::with_capacity(copy.rows);
    let mut usage = StringBuilder::with_capacity(copy.rows, copy.rows * 8);
    let mut k = StringBuilder::with_capacity(copy.rows, copy.bytes.len());
    let mut tuples = Tuples::new(&copy.bytes);
    while let Some([s, u, v]) = tuples.next_tuple::<3>()? {
        let s = pgcopy::int8(s)?.context("NULL seq")?;
        if run_seqs.binary_search(&s).is_err() {
            continue;
        }
        seq.append_value(s);
        usage.append_value(pgcopy::text(u)?);
        k.append_value(pgcopy::text(v)?);
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        Arc::new(usage.finish()),
        Arc::new(k.finish()),
    ];
    Ok(RecordBatch::try_new(schema(&link_columns(key)), arrays)?)
}
