//! The Statement Resource (Communication §2.1): PUT, POST, GET and HEAD on
//! `/xapi/statements`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, Resource};
use serde_json::Value;
use uuid::Uuid;

use super::params::Params;
use super::{authorize, http_date, read_body, version, ApiError, AppState};
use crate::auth::{scopes::read_reach, Access, Principal, ReadReach};
use crate::store::statements::{self as store, InsertError};
use crate::xapi::prepare::{prepare, Assigned, Prepared};
use crate::xapi::primitives::parse_uuid;
use crate::xapi::{equivalence, validate, XapiVersion};

pub fn resource() -> Resource {
    web::resource("/statements")
        .route(web::put().to(put))
        .route(web::post().to(post))
        .route(web::get().to(get))
        .route(web::head().to(get))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed(
                "the Statement Resource allows GET, HEAD, PUT and POST".into(),
            ))
        }))
}

/// `PUT /xapi/statements?statementId=…`: stores one statement with the given id; 204.
#[tracing::instrument(name = "PUT /xapi/statements", skip_all)]
async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::WriteStatements).await?;
    let params = Params::parse(req.query_string(), &["statementId"])?;
    let id = params
        .get("statementId")
        .ok_or_else(|| ApiError::bad_request("PUT requires the statementId parameter"))?;
    let id = parse_uuid(id)
        .ok_or_else(|| ApiError::bad_request(format!("statementId `{id}` is not a UUID")))?;
    let body = json_body(&req, payload, &state).await?;
    let Value::Object(_) = &body else {
        return Err(ApiError::bad_request(
            "PUT takes a single statement (a JSON object)",
        ));
    };
    // Communication §2.1.1: an id in the body must match the parameter.
    if let Some(body_id) = body.get("id") {
        if body_id.as_str().and_then(parse_uuid) != Some(id) {
            return Err(ApiError::bad_request(format!(
                "the statement's id {body_id} differs from statementId {id}"
            )));
        }
    }
    let mut statement = body;
    statement["id"] = Value::String(id.to_string());
    store_batch(&req, &state, &principal, vec![statement]).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /xapi/statements`: stores one statement or an array; answers the ids in order.
#[tracing::instrument(name = "POST /xapi/statements", skip_all)]
async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::WriteStatements).await?;
    Params::parse(req.query_string(), &[])?;
    let statements = match json_body(&req, payload, &state).await? {
        Value::Array(list) => list,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(ApiError::bad_request(
                "the body must be a statement object or an array of statements",
            ))
        }
    };
    let ids = store_batch(&req, &state, &principal, statements).await?;
    Ok(HttpResponse::Ok().json(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()))
}

/// Reads a JSON body (Communication §2.1: statements are sent as `application/json`).
async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(ApiError::bad_request(format!(
            "Content-Type must be application/json, got `{content_type}`"
        )));
    }
    let bytes = read_body(req, payload, state.max_body_bytes).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// Validates, prepares and stores a batch atomically; returns the ids in request order.
async fn store_batch(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    statements: Vec<Value>,
) -> Result<Vec<Uuid>, ApiError> {
    let version = version::of(req);
    let guard = state.writes.begin();
    let assigned = Assigned {
        stored: guard.stored,
        authority: &principal.authority,
        version,
    };
    let batched = statements.len() > 1;
    // Large batches are CPU work (schema + rules); keep it off the async executor.
    let prepared = if statements.len() > 50 {
        let authority = principal.authority.clone();
        let stored = guard.stored;
        web::block(move || {
            let assigned = Assigned {
                stored,
                authority: &authority,
                version,
            };
            validate_and_prepare(statements, &assigned, version, batched)
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))??
    } else {
        validate_and_prepare(statements, &assigned, version, batched)?
    };
    let ids: Vec<Uuid> = prepared.iter().map(|p| p.id).collect();
    let unique = deduplicate(prepared)?;
    check_attachments_present(&unique)?;
    match store::insert_batch(&state.pool, principal.store_id, principal.credential_id, &unique)
        .await
    {
        Ok(()) => Ok(ids),
        Err(InsertError::Conflict(id)) => Err(ApiError::Conflict(format!(
            "statement {id} already exists with different content; statements are immutable"
        ))),
        Err(InsertError::Store(e)) => Err(e.into()),
    }
}

fn validate_and_prepare(
    statements: Vec<Value>,
    assigned: &Assigned<'_>,
    version: XapiVersion,
    batched: bool,
) -> Result<Vec<Prepared>, ApiError> {
    statements
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            validate::statement(&s, version)
                .map_err(|v| if batched { v.in_batch(i) } else { v })?;
            Ok(prepare(s, assigned))
        })
        .collect()
}

/// A batch may repeat an id only with equivalent statements; those are stored once.
fn deduplicate(batch: Vec<Prepared>) -> Result<Vec<Prepared>, ApiError> {
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    let mut unique: Vec<Prepared> = Vec::with_capacity(batch.len());
    for p in batch {
        match seen.get(&p.id) {
            Some(&i) => {
                let first = &unique[i];
                let same_time = p.client_timestamp && first.client_timestamp;
                if !equivalence::equivalent(&p.statement, &first.statement, same_time) {
                    return Err(ApiError::bad_request(format!(
                        "the batch contains two different statements with id {}",
                        p.id
                    )));
                }
            }
            None => {
                seen.insert(p.id, unique.len());
                unique.push(p);
            }
        }
    }
    Ok(unique)
}

/// Data §2.4.11: an attachment without `fileUrl` must travel in a multipart/mixed request;
/// a plain JSON request cannot carry its content.
fn check_attachments_present(batch: &[Prepared]) -> Result<(), ApiError> {
    for p in batch {
        let list = p.statement.get("attachments").and_then(Value::as_array);
        if list
            .into_iter()
            .flatten()
            .any(|a| a.get("fileUrl").is_none())
        {
            return Err(ApiError::bad_request(format!(
                "statement {} declares an attachment without fileUrl, whose content must be sent \
                 as a part of a multipart/mixed request",
                p.id
            )));
        }
    }
    Ok(())
}

const SINGLE_PARAMS: [&str; 4] = ["statementId", "voidedStatementId", "format", "attachments"];

/// `GET /xapi/statements?statementId=…|voidedStatementId=…` (Communication §2.1.3).
#[tracing::instrument(name = "GET /xapi/statements", skip_all)]
async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::ReadStatements).await?;
    let params = Params::parse(req.query_string(), &SINGLE_PARAMS)?;
    let (id, want_voided) = match (params.get("statementId"), params.get("voidedStatementId")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "statementId and voidedStatementId cannot be used together",
            ))
        }
        (Some(id), None) => (id, false),
        (None, Some(id)) => (id, true),
        (None, None) => {
            return Err(ApiError::bad_request(
                "give statementId or voidedStatementId",
            ))
        }
    };
    if let Some(format) = params.get("format") {
        if !["exact", "ids", "canonical"].contains(&format) {
            return Err(ApiError::bad_request(format!(
                "format must be exact, ids or canonical, not `{format}`"
            )));
        }
    }
    if let Some(a) = params.get("attachments") {
        if a != "true" && a != "false" {
            return Err(ApiError::bad_request("attachments must be true or false"));
        }
    }
    let name = if want_voided {
        "voidedStatementId"
    } else {
        "statementId"
    };
    let uuid = parse_uuid(id)
        .ok_or_else(|| ApiError::bad_request(format!("{name} `{id}` is not a UUID")))?;
    let found = store::find(&state.pool, principal.store_id, uuid)
        .await?
        .filter(|s| s.voided == want_voided)
        .filter(|s| {
            read_reach(&principal.scopes) == Some(ReadReach::Everything)
                || s.credential_id == Some(principal.credential_id)
        })
        .ok_or_else(|| {
            ApiError::NotFound(if want_voided {
                format!("no voided statement {uuid}")
            } else {
                format!("no statement {uuid} (voided statements are fetched with voidedStatementId)")
            })
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::LAST_MODIFIED, http_date(found.stored)))
        .json(found.statement))
}
