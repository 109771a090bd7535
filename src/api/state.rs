//! The State Resource (xAPI 1.0.3 Communication §2.3; xAPI 2.0 §4.1.6.2):
//! `/xapi/activities/state` with activityId, agent, registration, stateId and since.

use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::documents;
use super::openapi::params::{Preconditions, Since, StateContext};
use super::openapi::responses::{
    CommonErrors, Conflict, NotFound, PayloadTooLarge, PreconditionFailed,
};
use super::{ApiError, AppState};
use crate::xapi::document::{Kind, Write};

pub fn resource() -> Resource {
    web::resource("/activities/state")
        .route(web::put().to(put))
        .route(web::post().to(post))
        .route(web::get().to(get))
        .route(web::head().to(get))
        .route(web::delete().to(delete))
        .default_service(documents::method_not_allowed(Kind::State))
}

/// Stores a State document, replacing any document with this id.
///
/// The exact bytes and Content-Type are kept. Over an existing document, a PUT needs
/// `If-Match` or `If-None-Match` (Communication §3.1). Scopes: `all` or `state`.
#[utoipa::path(
    put,
    path = "/xapi/activities/state",
    tag = "State",
    params(
        StateContext,
        (
            "stateId" = String, Query,
            description = "The id of the state document."
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
    security(("basic" = ["all"]), ("basic" = ["state"]))
)]
pub async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    documents::store(Kind::State, Write::Put, req, state, payload).await
}

/// Stores a State document, or merges a JSON Object into the stored JSON Object.
///
/// Communication §2.2.s7–s8: when both are JSON Objects their top-level properties are merged;
/// otherwise the document is stored as with PUT where none exists. Scopes: `all` or `state`.
#[utoipa::path(
    post,
    path = "/xapi/activities/state",
    tag = "State",
    params(
        StateContext,
        (
            "stateId" = String, Query,
            description = "The id of the state document."
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
    security(("basic" = ["all"]), ("basic" = ["state"]))
)]
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    documents::store(Kind::State, Write::Post, req, state, payload).await
}

/// Fetches one State document, or the ids of the State documents of the context.
///
/// With `stateId`: the document with its Content-Type, `ETag` and `Last-Modified`. Without:
/// the JSON array of the ids stored `since` (Communication §2.3). Scopes: `all`, `all/read` or
/// `state`.
#[utoipa::path(
    method(get, head),
    path = "/xapi/activities/state",
    tag = "State",
    params(
        StateContext,
        (
            "stateId" = Option<String>, Query,
            description = "The id of the state document; without it, the ids are listed."
        ),
        Since
    ),
    responses(
        (
            status = 200,
            description = "The document as stored, or the array of state ids",
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
    security(("basic" = ["all"]), ("basic" = ["all/read"]), ("basic" = ["state"]))
)]
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    documents::get(Kind::State, req, state).await
}

/// Deletes one State document, or without `stateId` every State document of the context.
///
/// Communication §2.3.s5. Scopes: `all` or `state`.
#[utoipa::path(
    delete,
    path = "/xapi/activities/state",
    tag = "State",
    params(
        StateContext,
        (
            "stateId" = Option<String>, Query,
            description = "The id of the state document; without it, every document of the \
                context is deleted."
        ),
        Preconditions
    ),
    responses(
        (status = 204, description = "Deleted (or there was nothing to delete)"),
        (status = 412, response = PreconditionFailed),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["state"]))
)]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    documents::delete(Kind::State, req, state).await
}
