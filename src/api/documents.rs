//! What the three Document Resources share (xAPI 1.0.3 Communication §2.2, §3.1; xAPI 2.0
//! §4.1.6.2, §4.1.6.5, §4.1.6.6): parameters, bodies, preconditions and responses. The
//! resource modules (`state`, `activity_profile`, `agent_profile`) only route to these.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::params::Params;
use super::{authorize, http_date, read_body, version, ApiError, AppState};
use crate::auth::Access;
use crate::store::documents::{self as store, Context, Request, WriteError};
use crate::xapi::document::{self, Kind, Preconditions, Write};
use crate::xapi::primitives::{is_iri, parse_timestamp, parse_uuid};
use crate::xapi::{ifi, validate, XapiVersion};

/// The query parameter naming one document.
fn doc_param(kind: Kind) -> &'static str {
    match kind {
        Kind::State => "stateId",
        Kind::ActivityProfile | Kind::AgentProfile => "profileId",
    }
}

/// The parameters a resource accepts (the tables of Communication §2.3, §2.6, §2.7); `since`
/// only on GET.
fn allowed(kind: Kind, get: bool) -> &'static [&'static str] {
    match (kind, get) {
        (Kind::State, false) => &["activityId", "agent", "registration", "stateId"],
        (Kind::State, true) => &["activityId", "agent", "registration", "stateId", "since"],
        (Kind::ActivityProfile, false) => &["activityId", "profileId"],
        (Kind::ActivityProfile, true) => &["activityId", "profileId", "since"],
        (Kind::AgentProfile, false) => &["agent", "profileId"],
        (Kind::AgentProfile, true) => &["agent", "profileId", "since"],
    }
}

fn read_access(kind: Kind) -> Access {
    match kind {
        Kind::State => Access::ReadState,
        _ => Access::ReadProfile,
    }
}

fn write_access(kind: Kind) -> Access {
    match kind {
        Kind::State => Access::WriteState,
        _ => Access::WriteProfile,
    }
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::State => "State Resource",
        Kind::ActivityProfile => "Activity Profile Resource",
        Kind::AgentProfile => "Agent Profile Resource",
    }
}

/// A required parameter (the "Required" column of each table; missing → 400).
fn required<'a>(params: &'a Params, kind: Kind, param: &str) -> Result<&'a str, ApiError> {
    params.get(param).ok_or_else(|| {
        ApiError::bad_request(format!("the {} requires the {param} parameter", name(kind)))
    })
}

/// `activityId` is an IRI (Communication §2.3.s3.table1.row1, §2.7.s3.table1.row1).
pub fn activity_id(params: &Params, what: &str) -> Result<String, ApiError> {
    let id = params.get("activityId").ok_or_else(|| {
        ApiError::bad_request(format!("the {what} requires the activityId parameter"))
    })?;
    if !is_iri(id) {
        return Err(ApiError::bad_request(format!(
            "activityId `{id}` is not an IRI"
        )));
    }
    Ok(id.to_string())
}

/// The `agent` parameter: an Agent object with exactly one IFI, validated like an Agent in a
/// statement (Data §2.2.s4.b4); not a Group nor a Person (Communication §2.4.s2, §2.6.s3 note).
/// Returns the Agent and its IFI key.
pub fn agent(
    params: &Params,
    version: XapiVersion,
    what: &str,
) -> Result<(Value, String), ApiError> {
    let text = params
        .get("agent")
        .ok_or_else(|| ApiError::bad_request(format!("the {what} requires the agent parameter")))?;
    let agent: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("agent is not valid JSON: {e}")))?;
    if !agent.is_object() {
        return Err(ApiError::bad_request("agent must be an Agent object"));
    }
    match agent.get("objectType").and_then(Value::as_str) {
        None | Some("Agent") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "agent must be an Agent, not a {other}"
            )))
        }
    }
    validate::agent_parameter(&agent, version)
        .map_err(|v| ApiError::bad_request(format!("agent is not a valid Agent: {v}")))?;
    let key = ifi::key(&agent)
        .ok_or_else(|| ApiError::bad_request("agent must have an inverse functional identifier"))?;
    Ok((agent, key))
}

/// Parses the document context of a request.
fn context(kind: Kind, params: &Params, version: XapiVersion) -> Result<Context, ApiError> {
    let what = name(kind);
    let (activity_iri, agent_ifi) = match kind {
        Kind::State => (activity_id(params, what)?, agent(params, version, what)?.1),
        Kind::ActivityProfile => (activity_id(params, what)?, String::new()),
        Kind::AgentProfile => (String::new(), agent(params, version, what)?.1),
    };
    // Communication §2.3.s3.table1.row3: registration is a UUID.
    let registration = params
        .get("registration")
        .map(|v| {
            parse_uuid(v)
                .ok_or_else(|| ApiError::bad_request(format!("registration `{v}` is not a UUID")))
        })
        .transpose()?;
    Ok(Context {
        kind,
        activity_iri,
        agent_ifi,
        registration,
    })
}

fn preconditions(req: &HttpRequest) -> Preconditions {
    let get = |h: header::HeaderName| req.headers().get(h).and_then(|v| v.to_str().ok());
    Preconditions::parse(get(header::IF_MATCH), get(header::IF_NONE_MATCH))
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .unwrap_or("application/octet-stream")
        .to_string()
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            // Communication §3.1.s4.b9–b12.
            WriteError::PreconditionFailed(m) => ApiError::PreconditionFailed(m),
            // Communication §3.1.s4.b13–b15.
            WriteError::Conflict(m) => ApiError::Conflict(m),
            // Communication §3.1.s3.b1 (1.0.3).
            WriteError::MissingPrecondition(m) => ApiError::bad_request(m),
            // Communication §2.2.s8.b1.
            WriteError::Merge(m) => ApiError::bad_request(m.0),
            WriteError::Store(e) => e.into(),
        }
    }
}

/// PUT or POST: stores (PUT) or merges into (POST) one document; 204.
#[tracing::instrument(name = "document", skip_all, fields(kind = kind.as_str()))]
pub async fn store(
    kind: Kind,
    write: Write,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, write_access(kind)).await?;
    let version = version::of(&req);
    let params = Params::parse(req.query_string(), allowed(kind, false))?;
    let ctx = context(kind, &params, version)?;
    let doc_id = required(&params, kind, doc_param(kind))?;
    let content_type = content_type(&req);
    let body = read_body(&req, payload, state.max_body_bytes).await?;
    // Communication §2.2.s8.b1: a posted application/json document must be a JSON Object,
    // whether or not there is a document to merge it into.
    if write == Write::Post
        && document::is_json(&content_type)
        && document::json_object(&body).is_none()
    {
        return Err(ApiError::bad_request(
            "a document POSTed as application/json must be a JSON Object",
        ));
    }
    let pre = preconditions(&req);
    let request = Request {
        version,
        write,
        preconditions: &pre,
        content_type: &content_type,
        body: &body,
    };
    store::write(&state.pool, principal.store_id, &ctx, doc_id, &request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// DELETE: one document, or (State only, Communication §2.3.s5) every document of the context.
#[tracing::instrument(name = "document", skip_all, fields(kind = kind.as_str()))]
pub async fn delete(
    kind: Kind,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, write_access(kind)).await?;
    let version = version::of(&req);
    let params = Params::parse(req.query_string(), allowed(kind, false))?;
    let ctx = context(kind, &params, version)?;
    let doc_id = match (kind, params.get(doc_param(kind))) {
        (_, Some(id)) => id,
        (Kind::State, None) => {
            store::delete_all(&state.pool, principal.store_id, &ctx).await?;
            return Ok(HttpResponse::NoContent().finish());
        }
        _ => required(&params, kind, doc_param(kind))?,
    };
    let pre = preconditions(&req);
    let request = Request {
        version,
        write: Write::Delete,
        preconditions: &pre,
        content_type: "",
        body: &[],
    };
    store::write(&state.pool, principal.store_id, &ctx, doc_id, &request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// GET and HEAD: one document with its Content-Type, ETag and Last-Modified, or without the
/// document id the array of ids updated since `since` (Communication §2.3.s4, §2.6.s4, §2.7.s4).
#[tracing::instrument(name = "document", skip_all, fields(kind = kind.as_str()))]
pub async fn get(
    kind: Kind,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, read_access(kind)).await?;
    let version = version::of(&req);
    let params = Params::parse(req.query_string(), allowed(kind, true))?;
    let ctx = context(kind, &params, version)?;
    let since = params
        .get("since")
        .map(|v| {
            parse_timestamp(v)
                .ok_or_else(|| ApiError::bad_request(format!("since `{v}` is not a timestamp")))
        })
        .transpose()?;
    if let Some(doc_id) = params.get(doc_param(kind)) {
        let doc = store::get(&state.pool, principal.store_id, &ctx, doc_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no document `{doc_id}` here")))?;
        // §3.1.s4.b1–b4: a quoted SHA-1 ETag; §2.2.s6.b1: Last-Modified.
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, doc.content_type))
            .insert_header((header::ETAG, format!("\"{}\"", doc.etag)))
            .insert_header((header::LAST_MODIFIED, http_date(doc.updated)))
            .body(doc.content));
    }
    let (ids, latest) = store::list_ids(&state.pool, principal.store_id, &ctx, since).await?;
    let body = serde_json::to_vec(&ids).map_err(|e| ApiError::Internal(e.into()))?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::ETAG, format!("\"{}\"", document::etag(&body))));
    // §2.2.s6.b2: the latest modification among the documents returned.
    if let Some(t) = latest {
        response.insert_header((header::LAST_MODIFIED, http_date(t)));
    }
    Ok(response.body(body))
}

/// The fallback of a Document Resource for methods it does not serve.
pub fn method_not_allowed(kind: Kind) -> actix_web::Route {
    web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed(format!(
            "the {} allows GET, HEAD, PUT, POST and DELETE",
            name(kind)
        )))
    })
}

/// A JSON body with its ETag (Communication §3.1.s4.b1: every GET response carries one).
pub fn json_response(value: &Value) -> HttpResponse {
    let body = value.to_string().into_bytes();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::ETAG, format!("\"{}\"", document::etag(&body))))
        .body(body)
}
