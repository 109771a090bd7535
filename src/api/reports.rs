//! `GET /api/v1/reports/{name}`: reports from the warehouse's gold layer (scope `all`,
//! `all/read` or `analytics/read`). Filters, paging and formats are common to every report.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map};

use crate::api::openapi::analytics::{
    BinaryTable, ReportList, ReportName, ReportPage, ReportParams,
};
use crate::api::openapi::responses::{CommonErrors, NotFound};
use crate::api::tabular::{self, Format};
use crate::api::{authorize, ApiError, AppState};
use crate::auth::Access;
use crate::warehouse::reports::{self, ParseError, ReportRequest, REPORTS};
use crate::warehouse::Warehouse;

pub fn resource() -> actix_web::Scope {
    web::scope("/api/v1/reports")
        .route("", web::get().to(list))
        .route("/{name}", web::get().to(report))
}

/// The warehouse this server owns, or 404 saying it is off.
pub fn warehouse(w: Option<web::Data<Arc<Warehouse>>>) -> Result<Arc<Warehouse>, ApiError> {
    w.map(|w| w.get_ref().clone()).ok_or_else(|| {
        ApiError::NotFound(
            "the analytics warehouse is not enabled on this server (etl_interval_seconds = 0)"
                .into(),
        )
    })
}

/// The reports this server offers.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "Reports",
    responses(
        (status = 200, description = "The report names and their URLs", body = ReportList),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["all/read"]), ("basic" = ["analytics/read"]))
)]
#[tracing::instrument(name = "GET /api/v1/reports", skip_all)]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Access::ReadAnalytics).await?;
    let items: Vec<_> = REPORTS
        .iter()
        .map(|(r, _)| json!({"name": r, "href": format!("/api/v1/reports/{r}")}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "reports": items })))
}

/// One report, filtered and paged.
///
/// Funnel stages count registrations; item statistics use each learner's first attempt
/// (difficulty = share correct, discrimination = point-biserial correlation with the rest of
/// the assessment); active minutes are distinct minutes in which a learner sent a statement;
/// see the README's "Reports" table for every report's columns.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{name}",
    tag = "Reports",
    params(("name" = ReportName, Path, description = "The report"), ReportParams),
    responses(
        (status = 200, description = "A page of the report", content(
            (ReportPage = "application/json"),
            (String = "text/csv"),
            (BinaryTable = "application/vnd.apache.arrow.stream"),
            (BinaryTable = "application/vnd.apache.parquet"),
        )),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["all/read"]), ("basic" = ["analytics/read"]))
)]
#[tracing::instrument(name = "GET /api/v1/reports/{name}", skip_all, fields(report))]
pub async fn report(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
    w: Option<web::Data<Arc<Warehouse>>>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Access::ReadAnalytics).await?;
    let name = name.into_inner();
    tracing::Span::current().record("report", name.as_str());
    let params: HashMap<String, String> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let warehouse = warehouse(w)?;
    let today = chrono::Utc::now().date_naive();
    let ReportRequest {
        report,
        filters,
        offset,
        limit,
    } = reports::parse(&name, &params, today).map_err(|e| match e {
        ParseError::UnknownReport(_) => ApiError::NotFound(e.to_string()),
        ParseError::Param(p) => ApiError::bad_request(p.to_string()),
    })?;
    let format = Format::negotiate(&req, params.get("format").map(String::as_str))?;
    let result = warehouse
        .report(report, filters.clone(), offset, limit)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let mut meta = Map::new();
    meta.insert("report".into(), json!(name));
    meta.insert("filters".into(), json!(filters));
    meta.insert("offset".into(), json!(offset));
    meta.insert("limit".into(), json!(limit));
    let next = (offset + limit < result.total).then(|| {
        let mut next: Vec<(String, String)> =
            params.into_iter().filter(|(k, _)| k != "offset").collect();
        next.sort();
        next.push(("offset".into(), (offset + limit).to_string()));
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        format!("/api/v1/reports/{name}?{query}")
    });
    tabular::respond(
        &result.table,
        format,
        &result.freshness,
        result.total,
        next,
        meta,
    )
}
