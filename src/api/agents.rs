//! The Agents Resource (xAPI 1.0.3 Communication §2.4; xAPI 2.0 §4.1.6.3):
//! `GET /xapi/agents?agent=…` returns the Person object the LRS knows for that Agent.

use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::openapi::params::AgentParam;
use super::openapi::responses::CommonErrors;
use super::openapi::schemas::Person;
use super::params::Params;
use super::{authorize, documents, version, ApiError, AppState};
use crate::auth::Access;
use crate::store::definitions as store;
use crate::xapi::definitions::person;

pub fn resource() -> Resource {
    web::resource("/agents")
        .route(web::get().to(get))
        .route(web::head().to(get))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed(
                "the Agents Resource allows GET and HEAD".into(),
            ))
        }))
}

/// The Person object the LRS knows for an Agent.
///
/// §2.4.s2: a Person object; §2.4.s3.b3: for an Agent the LRS knows nothing about, the Person
/// holds what the request gave. Scopes: `all`, `all/read`, `statements/read` or `define`.
#[utoipa::path(
    method(get, head),
    path = "/xapi/agents",
    tag = "Agents",
    params(AgentParam),
    responses(
        (status = 200, description = "The Person object", body = Person,
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
#[tracing::instrument(name = "GET /xapi/agents", skip_all)]
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::ReadDefinitions).await?;
    let params = Params::parse(req.query_string(), &["agent"])?;
    let (agent, key) = documents::agent(&params, version::of(&req), "Agents Resource")?;
    let names = store::agent_names(&state.pool, principal.store_id, &key).await?;
    Ok(documents::json_response(&person(&agent, &names)))
}
