//! `GET /api/v1/etl/status`: the analytics warehouse's ETL status (scope `all`, `all/read` or
//! `analytics/read`).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::openapi::responses::{CommonErrors, NotFound};
use crate::api::{authorize, ApiError, AppState};
use crate::auth::Access;
use crate::warehouse::{EtlStatus, Warehouse};

pub fn resource() -> actix_web::Resource {
    web::resource("/api/v1/etl/status").route(web::get().to(status))
}

/// The analytics warehouse's ETL status: last run, rows loaded, lag, last error.
///
/// 404 when this server runs without the warehouse (`etl_interval_seconds = 0`). Scopes:
/// `all`, `all/read` or `analytics/read`.
#[utoipa::path(
    get,
    path = "/api/v1/etl/status",
    tag = "ETL",
    responses(
        (status = 200, description = "The ETL status", body = EtlStatus),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
    security(
        ("basic" = ["all"]),
        ("basic" = ["all/read"]),
        ("basic" = ["analytics/read"])
    )
)]
#[tracing::instrument(name = "GET /api/v1/etl/status", skip_all)]
pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
    warehouse: Option<web::Data<Arc<Warehouse>>>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state, Access::ReadAnalytics).await?;
    let Some(warehouse) = warehouse else {
        return Err(ApiError::NotFound(
            "the analytics warehouse is not enabled on this server (etl_interval_seconds = 0)"
                .into(),
        ));
    };
    let status = warehouse
        .status(&state.pool)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok().json(status))
}
