//! Parameters and bodies of the analytics endpoints (`/api/v1/reports/*`, `/api/v1/sql`). The
//! handlers parse the query string themselves (`warehouse::reports::parse`); these types only
//! document it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The report to run.
#[derive(ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum ReportName {
    CompletionFunnel,
    ItemAnalysis,
    ItemDistractors,
    Engagement,
    LearnerProgress,
    AtRisk,
    VideoEngagement,
    VideoDropoff,
    TopVerbs,
    TopActivities,
}

/// `GET /api/v1/reports/{name}`: the filters every report takes, paging, the format, and
/// each report's own parameters (named after the report; others are rejected with 400).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Only statements with `timestamp` at or after this date (`YYYY-MM-DD`, midnight UTC) or
    /// RFC 3339 time.
    #[param(value_type = Option<String>, example = "2026-03-01")]
    pub since: Option<DateTime<Utc>>,
    /// Only statements with `timestamp` before this date or time.
    #[param(value_type = Option<String>, example = "2026-04-01")]
    pub until: Option<DateTime<Utc>>,
    /// Course IRI (`dim_course.course_iri`: the statement's first non-cmi5 grouping activity).
    pub course: Option<String>,
    /// Activity IRI: statements about it, or with it among their context activities.
    pub activity: Option<String>,
    /// The learner: `mailto:…`, an IFI key as reports print it (`mbox:mailto:…`,
    /// `account:HOMEPAGE NAME`, `openid:…`, `mbox_sha1sum:…`), or an xAPI Agent as JSON.
    #[param(example = "mailto:ann@example.com")]
    pub learner: Option<String>,
    /// A source: `context.platform` or a `source_key` of `dim_source`.
    pub source: Option<String>,
    /// Rows per page (default 1000, at most 100,000).
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<u32>,
    /// Rows to skip; follow `next` instead of counting.
    #[param(minimum = 0)]
    pub offset: Option<u64>,
    /// `json` (default), `csv`, `arrow` (IPC stream) or `parquet`; else the `Accept` header.
    #[param(inline)]
    pub format: Option<TableFormat>,
    /// completion-funnel: `course` (default) or `au`; engagement: `none` (default), `course`
    /// or `source`.
    pub group: Option<String>,
    /// engagement: `day` (default), `week` (ISO, from Monday) or `month`.
    pub interval: Option<String>,
    /// at-risk: the day risk is judged on (default today, UTC).
    #[param(value_type = Option<String>, example = "2026-03-20")]
    pub as_of: Option<String>,
    /// at-risk: days without a statement that flag a learner who has not completed or
    /// passed (default 7).
    #[param(minimum = 1, maximum = 3650)]
    pub inactive_days: Option<u32>,
    /// at-risk: best scaled score below which a learner is flagged (default 0.5).
    #[param(minimum = -1, maximum = 1)]
    pub min_score: Option<f64>,
    /// at-risk: abandoned cmi5 sessions that flag a learner (default 1).
    #[param(minimum = 1)]
    pub abandoned_sessions: Option<u32>,
    /// video-dropoff: equal parts each video is cut into (default 10).
    #[param(minimum = 1, maximum = 1000)]
    pub buckets: Option<u32>,
    /// top-verbs, top-activities: how many (default 10).
    #[param(minimum = 1, maximum = 10000)]
    pub top: Option<u32>,
}

/// `format=` of a tabular result.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum TableFormat {
    Json,
    Csv,
    Arrow,
    Parquet,
}

/// `POST /api/v1/sql`: the result format.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SqlParams {
    /// `json` (default), `csv`, `arrow` (IPC stream) or `parquet`; else the `Accept` header.
    #[param(inline)]
    pub format: Option<TableFormat>,
}

/// The warehouse state a result was read from.
#[derive(ToSchema)]
pub struct WarehouseState {
    /// When the ETL run that produced this state committed (null: never ran).
    pub as_of: Option<DateTime<Utc>>,
    /// Completed ETL runs.
    pub runs: i64,
    /// Every PostgreSQL transaction below this id is loaded.
    pub xid_bound: i64,
}

/// A column of a result: its name and Arrow type.
#[derive(ToSchema)]
pub struct ResultColumn {
    pub name: String,
    #[schema(rename = "type", example = "Int64")]
    pub data_type: String,
}

/// A page of a report as JSON. CSV, Arrow and Parquet answers are the bare table, with
/// `X-Cairn-Total-Rows`, `Link: <…>; rel="next"` and `X-Cairn-Warehouse-As-Of` headers.
#[derive(ToSchema)]
pub struct ReportPage {
    #[schema(example = "completion-funnel")]
    pub report: String,
    /// The filters as understood (the learner as its IFI key).
    #[schema(value_type = Object)]
    pub filters: BTreeMap<String, Value>,
    /// Rows in the whole report.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    /// The next page, when there is one.
    pub next: Option<String>,
    pub warehouse: WarehouseState,
    pub columns: Vec<ResultColumn>,
    /// One object per row, keyed by column name (dates and times as ISO 8601 text).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
}

/// The reports this server offers.
#[derive(ToSchema)]
pub struct ReportList {
    #[schema(value_type = Vec<Object>, example = json!([{"name": "engagement", "href": "/api/v1/reports/engagement"}]))]
    pub reports: Vec<Value>,
}

/// `POST /api/v1/sql` with a JSON body (or send the query as `text/plain`).
#[derive(ToSchema)]
pub struct SqlRequest {
    /// One SELECT over the gold relations.
    #[schema(example = "SELECT verb_key, count(*) AS n FROM fact_statement GROUP BY 1")]
    pub sql: String,
}

/// A result of ad-hoc SQL as JSON.
#[derive(ToSchema)]
pub struct SqlResultPage {
    /// Rows in the result.
    pub total: u64,
    pub warehouse: WarehouseState,
    pub columns: Vec<ResultColumn>,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
}

/// A table as Arrow IPC (stream) or Parquet bytes.
pub struct BinaryTable;

impl utoipa::PartialSchema for BinaryTable {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("The table as Arrow IPC stream or Parquet bytes."))
            .into()
    }
}

impl ToSchema for BinaryTable {}
