//! HTTP: one module per resource. A handler extracts, authorizes, calls the store and maps
//! errors — nothing else.

pub mod about;
pub mod activities;
pub mod activity_profile;
pub mod agent_profile;
pub mod agents;
pub mod alternate;
pub mod documents;
pub mod error;
pub mod etl;
pub mod multipart;
pub mod openapi;
pub mod params;
pub mod reports;
pub mod sql;
pub mod state;
pub mod statements;
pub mod tabular;
pub mod version;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::PgPool;

use crate::auth::{Access, Authenticator, Principal};
pub use error::ApiError;

/// What every handler can reach.
pub struct AppState {
    pub pool: PgPool,
    /// The write path's pool beside `pool` (see `store::write_pool`).
    pub writes: PgPool,
    pub auth: Authenticator,
    pub max_body_bytes: usize,
    /// Statement writes admitted at once; more wait briefly, then get 503 (see
    /// [`admit_write`]). Bounds memory and queueing under overload.
    pub write_slots: tokio::sync::Semaphore,
    /// The request bodies of admitted statement writes, in KiB: at most
    /// [`WRITE_BODY_BUDGET_KIB`] (see [`admit_write`]).
    pub write_body_kib: tokio::sync::Semaphore,
    /// The order of statement writes: `stored`/`seq` assignment and the bounds queries
    /// rely on (see `store::write_order`).
    pub order: crate::store::write_order::WriteOrder,
    /// Activity definitions and Agent names the store is known to hold (see
    /// `store::definitions::Known`).
    pub known: crate::store::definitions::Known,
    /// The version stated on responses to requests without a version header.
    pub default_version: crate::xapi::XapiVersion,
}

/// Routes under `/xapi`, the other endpoints and the JSON fallbacks for unknown paths and
/// methods. Every route is documented in [`openapi::ApiDoc`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/xapi")
            .service(about::resource())
            .service(statements::resource())
            .service(state::resource())
            .service(activity_profile::resource())
            .service(agent_profile::resource())
            .service(activities::resource())
            .service(agents::resource()),
    )
    .service(etl::resource())
    .service(reports::resource())
    .service(sql::resource())
    .configure(openapi::configure)
    .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!("no resource at {}", req.path())))
}

/// Authenticates the caller and checks that its scopes allow `access`.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    access: Access,
) -> Result<Principal, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let principal = state.auth.authenticate(header).await?;
    if !principal.allows(access) {
        return Err(ApiError::Forbidden(format!(
            "the credential's scopes do not allow {access:?}"
        )));
    }
    Ok(principal)
}

/// How long a statement write waits for a slot before the LRS answers 503.
const WRITE_ADMISSION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The statement JSON admitted at once, in KiB. Eight clients posting batches of 1,000
/// statements (about 1.1 MB of JSON each) held 145 MB of the server's heap in parsed
/// `serde_json::Value`s (heaptrack, ingest benchmark): about 17 times the JSON. 4 MiB admits
/// three such batches at once; the benchmark's batch rates did not drop (README, Benchmarks).
pub const WRITE_BODY_BUDGET_KIB: u32 = 4 * 1024;

/// An admitted statement write: a slot and its body's share of the budget, until dropped.
pub struct WriteAdmission<'a> {
    _slot: tokio::sync::SemaphorePermit<'a>,
    _body: tokio::sync::SemaphorePermit<'a>,
}

/// Admits a statement write, or answers 503 with Retry-After when the LRS is saturated, so
/// that overload sheds requests quickly instead of queueing them without bound. A write
/// needs one of the slots and its declared body size from [`WRITE_BODY_BUDGET_KIB`]; a body
/// of undeclared size (chunked), or larger than the budget, takes the whole budget and is
/// admitted alone. Writes waiting here have not read their bodies yet.
pub async fn admit_write<'a>(
    state: &'a AppState,
    req: &HttpRequest,
) -> Result<WriteAdmission<'a>, ApiError> {
    let kib = declared_length(req).map_or(WRITE_BODY_BUDGET_KIB, |bytes| {
        bytes
            .div_ceil(1024)
            .clamp(1, WRITE_BODY_BUDGET_KIB as usize) as u32
    });
    let admitted = tokio::time::timeout(WRITE_ADMISSION_WAIT, async {
        // Always in this order, so two writes never hold one permit each of the other's.
        let body = state.write_body_kib.acquire_many(kib).await?;
        let slot = state.write_slots.acquire().await?;
        Ok::<_, tokio::sync::AcquireError>(WriteAdmission {
            _slot: slot,
            _body: body,
        })
    })
    .await;
    match admitted {
        Ok(Ok(admission)) => Ok(admission),
        _ => Err(ApiError::Unavailable(
            "the LRS is saturated with statement writes; nothing was stored, retry later".into(),
        )),
    }
}

/// The body size the request declares (`Content-Length`).
fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// The most [`collect_body`] reserves before the bytes arrive: a client cannot make the
/// server hold more than this by declaring a large length and sending little.
const RESERVED_AT_MOST: usize = 4 << 20;

/// Reads the whole body, answering 413 past the configured limit.
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    collect_body(payload, limit, declared.unwrap_or(0)).await
}

/// Collects a body stream, answering 413 past `limit`. Up to `expected` bytes (the declared
/// length, when there is one) are reserved at once: grown as the chunks arrived instead, a
/// batch of 1,000 statements (about 1.2 MB) was copied into ever larger buffers. At most
/// [`RESERVED_AT_MOST`] is reserved for a length that is only declared.
pub async fn collect_body<S>(
    mut payload: S,
    limit: usize,
    expected: usize,
) -> Result<web::Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = web::BytesMut::with_capacity(expected.min(limit).min(RESERVED_AT_MOST));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("cannot read body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// An HTTP-date (RFC 7231 §7.1.1.1) for `Last-Modified`.
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
