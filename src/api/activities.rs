//! The Activities Resource (xAPI 1.0.3 Communication §2.5; xAPI 2.0 §4.1.6.4):
//! `GET /xapi/activities?activityId=…` returns the Activity with its canonical definition.

use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::openapi::params::ActivityParam;
use super::openapi::responses::CommonErrors;
use super::openapi::schemas::Activity;
use super::params::Params;
use super::{authorize, documents, ApiError, AppState};
use crate::auth::Access;
use crate::store::definitions as store;
use crate::xapi::definitions::activity_object;

pub fn resource() -> Resource {
    web::resource("/activities")
        .route(web::get().to(get))
        .route(web::head().to(get))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed(
                "the Activities Resource allows GET and HEAD".into(),
            ))
        }))
}

/// The Activity with the LRS's canonical definition.
///
/// §2.5.s1: the complete Activity Object; §2.5.s2.b1: an Activity Object even when the LRS
/// has no definition for it. Definitions come from statements stored by credentials with the
/// `define` or `all` scope. Scopes: `all`, `all/read`, `statements/read` or `define`.
#[utoipa::path(
    method(get, head),
    path = "/xapi/activities",
    tag = "Activities",
    params(ActivityParam),
    responses(
        (status = 200, description = "The Activity object", body = Activity,
            headers(("ETag" = String, description = "Quoted SHA-1 of the body"))),
        CommonErrors,
    ),
    security(
        ("basic" = ["all"]),
        ("basic" = ["all/read"]),
        ("basic" = ["statements/read"]),
        ("basic" = ["define"])
    )
)]
#[tracing::instrument(name = "GET /xapi/activities", skip_all)]
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::ReadDefinitions).await?;
    let params = Params::parse(req.query_string(), &["activityId"])?;
    let id = documents::activity_id(&params, "Activities Resource")?;
    let definition = store::activity_definition(&state.pool, principal.store_id, &id).await?;
    Ok(documents::json_response(&activity_object(&id, definition)))
}
