//! `POST /api/v1/sql`: one read-only SELECT over the gold layer (scope `analytics/read` or
//! `all`). The body is the query as `text/plain`, or JSON `{"sql": "…"}`; the result comes
//! back as JSON, CSV, Arrow or Parquet like a report. See `warehouse::sandbox` for the rules.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Map;

use crate::api::openapi::analytics::{BinaryTable, SqlParams, SqlRequest, SqlResultPage};
use crate::api::openapi::responses::{CommonErrors, NotFound, PayloadTooLarge};
use crate::api::tabular::{self, Format};
use crate::api::{authorize, read_body, ApiError, AppState};
use crate::auth::Access;
use crate::warehouse::sandbox::{Limits, SqlError};
use crate::warehouse::Warehouse;

pub fn resource() -> actix_web::Resource {
    web::resource("/api/v1/sql").route(web::post().to(query))
}

impl From<SqlError> for ApiError {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::Warehouse(w) => ApiError::Internal(anyhow::anyhow!(w)),
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

/// Runs one read-only SELECT over the gold layer.
///
/// Only a single SELECT passes DuckDB's parser check; it may read the gold relations (not
/// `dim_actor_pii`) and its own CTEs, and call no table function but `range`,
/// `generate_series` and `unnest`. Limits: 20,000 bytes of SQL, 10 s, 100,000 rows, 64 MB
/// of result; each refusal is a 400 naming the rule.
#[utoipa::path(
    post,
    path = "/api/v1/sql",
    tag = "SQL",
    params(SqlParams),
    request_body(content(
        (String = "text/plain"),
        (SqlRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The result", content(
            (SqlResultPage = "application/json"),
            (String = "text/csv"),
            (BinaryTable = "application/vnd.apache.arrow.stream"),
            (BinaryTable = "application/vnd.apache.parquet"),
        )),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["analytics/read"]))
)]
#[tracing::instrument(name = "POST /api/v1/sql", skip_all)]
pub async fn query(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    w: Option<web::Data<Arc<Warehouse>>>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Access::QueryAnalytics).await?;
    let warehouse = crate::api::reports::warehouse(w)?;
    let limits = Limits::default();
    let body = read_body(&req, payload, limits.max_query_bytes.max(4096) * 2).await?;
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let sql = if is_json {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        v.get("sql")
            .and_then(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_request("the JSON body needs a string `sql`"))?
            .to_string()
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("the query is not UTF-8 text"))?
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let format_param = params
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str());
    let format = Format::negotiate(&req, format_param)?;
    let result = warehouse.query_sql(sql, limits).await?;
    let total = result.table.rows();
    tabular::respond(
        &result.table,
        format,
        &result.freshness,
        total,
        None,
        Map::new(),
    )
}
