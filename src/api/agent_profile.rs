//! The Agent Profile Resource (xAPI 1.0.3 Communication §2.6; xAPI 2.0 §4.1.6.5):
//! `/xapi/agents/profile` with agent, profileId and since.

use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::documents;
use super::openapi::params::{AgentParam, Preconditions, Since};
use super::openapi::responses::{
    CommonErrors, Conflict, NotFound, PayloadTooLarge, PreconditionFailed,
};
use super::{ApiError, AppState};
use crate::xapi::document::{Kind, Write};

pub fn resource() -> Resource {
    web::resource("/agents/profile")
        .route(web::put().to(put))
        .route(web::post().to(post))
        .route(web::get().to(get))
        .route(web::head().to(get))
        .route(web::delete().to(delete))
        .default_service(documents::method_not_allowed(Kind::AgentProfile))
}

/// Stores an Agent Profile document, replacing any document with this id.
///
/// The exact bytes and Content-Type are kept. Over an existing document, a PUT needs
/// `If-Match` or `If-None-Match` (Communication §3.1). Scopes: `all` or `profile`.
#[utoipa::path(
    put,
    path = "/xapi/agents/profile",
    tag = "Agent Profile",
    params(
        AgentParam,
        (
            "profileId" = String, Query,
            description = "The id of the profile document."
        ),
        Preconditions
    ),
    request_body(description = "The document, of any content type.", content(("*/*"))),
    responses(
        (status = 204, description = "Stored"),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["profile"]))
)]
pub async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    documents::store(Kind::AgentProfile, Write::Put, req, state, payload).await
}

/// Stores an Agent Profile document, or merges a JSON Object into the stored JSON Object.
///
/// Communication §2.2.s7–s8: when both are JSON Objects their top-level properties are merged;
/// otherwise the document is stored as with PUT where none exists. Scopes: `all` or `profile`.
#[utoipa::path(
    post,
    path = "/xapi/agents/profile",
    tag = "Agent Profile",
    params(
        AgentParam,
        (
            "profileId" = String, Query,
            description = "The id of the profile document."
        ),
        Preconditions
    ),
    request_body(
        description = "The document: a JSON Object to merge, or any content type when there is \
            no document yet.",
        content(("application/json"), ("*/*"))
    ),
    responses(
        (status = 204, description = "Stored or merged"),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["profile"]))
)]
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    documents::store(Kind::AgentProfile, Write::Post, req, state, payload).await
}

/// Fetches one Agent Profile document, or the ids of the Agent Profile documents.
///
/// With `profileId`: the document with its Content-Type, `ETag` and `Last-Modified`. Without:
/// the JSON array of the ids stored `since` (Communication §2.6). Scopes: `all`, `all/read` or
/// `profile`.
#[utoipa::path(
    method(get, head),
    path = "/xapi/agents/profile",
    tag = "Agent Profile",
    params(
        AgentParam,
        (
            "profileId" = Option<String>, Query,
            description = "The id of the profile document; without it, the ids are listed."
        ),
        Since
    ),
    responses(
        (
            status = 200,
            description = "The document as stored, or the array of profile ids",
            headers(
                ("ETag" = String, description = "Quoted SHA-1 of the body"),
                (
                    "Last-Modified" = String,
                    description = "When the document (or the newest listed one) was stored"
                )
            ),
            content((Vec<String> = "application/json"), ("*/*"))
        ),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["all/read"]), ("basic" = ["profile"]))
)]
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    documents::get(Kind::AgentProfile, req, state).await
}

/// Deletes one Agent Profile document.
///
/// Communication §2.6. Scopes: `all` or `profile`.
#[utoipa::path(
    delete,
    path = "/xapi/agents/profile",
    tag = "Agent Profile",
    params(
        AgentParam,
        (
            "profileId" = String, Query,
            description = "The id of the profile document."
        ),
        Preconditions
    ),
    responses(
        (status = 204, description = "Deleted (or there was nothing to delete)"),
        (status = 412, response = PreconditionFailed),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["profile"]))
)]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    documents::delete(Kind::AgentProfile, req, state).await
}
