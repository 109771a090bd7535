//! The Statement Resource (Communication §2.1): PUT, POST, GET and HEAD on
//! `/xapi/statements`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, Resource};
use serde_json::Value;
use uuid::Uuid;

use super::multipart;
use super::openapi::params::{StatementId, StatementParams};
use super::openapi::responses::{CommonErrors, Conflict, NotFound, PayloadTooLarge};
use super::openapi::schemas::{AlternateRequest, Statement, StatementOrBatch, StatementOrResult};
use super::params::Params;
use super::{admit_write, authorize, http_date, read_body, version, ApiError, AppState};
use crate::auth::{scopes::read_reach, Access, Principal, ReadReach};
use crate::store::attachments as store_attachments;
use crate::store::statement_queries::{self, StatementQuery};
use crate::store::statements::{self as store, InsertError};
use crate::warehouse::Warehouse;
use crate::xapi::attachments::{self, Content, ReceivedPart};
use crate::xapi::format::{accept_language, Format};
use crate::xapi::prepare::{prepare, Assigned};
use crate::xapi::primitives::{is_iri, parse_timestamp, parse_uuid};
use crate::xapi::{ifi, signature, validate, XapiVersion};

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

/// Stores one statement under the given id.
///
/// `PUT /xapi/statements?statementId=…` (Communication §2.1.1): 204. A statement with this id
/// and the same content (by the statement comparison rules) is accepted again; different
/// content is a 409. Scopes: `all` or `statements/write`.
#[utoipa::path(
    put,
    path = "/xapi/statements",
    tag = "Statements",
    params(StatementId),
    request_body(
        description = "One statement as JSON, or `multipart/mixed`: the statement as the first \
            part (`application/json`), then one part per attachment with \
            `X-Experience-API-Hash` (its SHA-256) and `Content-Transfer-Encoding: binary` \
            (Communication §1.5.2).",
        content((Statement = "application/json"), ("multipart/mixed"))
    ),
    responses(
        (status = 204, description = "Stored (or already stored with the same content)"),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["statements/write"]))
)]
#[tracing::instrument(name = "PUT /xapi/statements", skip_all)]
pub async fn put(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::WriteStatements).await?;
    let _admitted = admit_write(&state, &req).await?;
    let params = Params::parse(req.query_string(), &["statementId"])?;
    let id = params
        .get("statementId")
        .ok_or_else(|| ApiError::bad_request("PUT requires the statementId parameter"))?;
    let id = parse_uuid(id)
        .ok_or_else(|| ApiError::bad_request(format!("statementId `{id}` is not a UUID")))?;
    let (body, parts) = statements_body(&req, payload, &state).await?;
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
    store_batch(&req, &state, &principal, vec![statement], parts).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stores a statement or a batch of statements; answers their ids.
///
/// `POST /xapi/statements` (Communication §2.1.2): the ids in request order. A batch is stored
/// whole or not at all. Scopes: `all` or `statements/write`.
///
/// **Alternate request syntax** (Communication §1.3, xAPI 1.0.x only; 2.0 requests using it get
/// a 400): `POST /xapi/statements?method=PUT` (or `GET`, `HEAD`, `POST`) with an
/// `application/x-www-form-urlencoded` body holding the headers, the query parameters and the
/// `content` of the intended request, which Cairn then serves as if it had been sent as such.
/// The other `/xapi` resources accept it the same way.
#[utoipa::path(
    post,
    path = "/xapi/statements",
    tag = "Statements",
    params(
        (
            "method" = Option<String>, Query,
            description = "Alternate request syntax (1.0.x only): the method of the intended \
                request, `GET`, `HEAD`, `PUT`, `POST` or `DELETE`; then it is the only query \
                parameter and the body is the form."
        )
    ),
    request_body(
        description = "A statement or an array of statements as JSON; or `multipart/mixed` \
            with the statements as the first part (`application/json`) and one part per \
            attachment with `X-Experience-API-Hash` and `Content-Transfer-Encoding: binary` \
            (Communication §1.5.2); or, with `?method=`, the alternate-syntax form.",
        content(
            (StatementOrBatch = "application/json"),
            ("multipart/mixed"),
            (AlternateRequest = "application/x-www-form-urlencoded")
        )
    ),
    responses(
        (
            status = 200,
            description = "The ids of the statements, in request order",
            body = Vec<Uuid>
        ),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        CommonErrors,
    ),
    security(("basic" = ["all"]), ("basic" = ["statements/write"]))
)]
#[tracing::instrument(name = "POST /xapi/statements", skip_all)]
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::WriteStatements).await?;
    let _admitted = admit_write(&state, &req).await?;
    Params::parse(req.query_string(), &[])?;
    let (body, parts) = statements_body(&req, payload, &state).await?;
    let statements = match body {
        Value::Array(list) => list,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(ApiError::bad_request(
                "the body must be a statement object or an array of statements",
            ))
        }
    };
    let ids = store_batch(&req, &state, &principal, statements, parts).await?;
    Ok(HttpResponse::Ok().json(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()))
}

/// Reads the statements of a PUT or POST: a JSON body, or a `multipart/mixed` body whose first
/// part is the JSON and whose further parts are attachment content (Communication §1.5).
async fn statements_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Value, Vec<ReceivedPart>), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (json, parts) = match multipart::essence(content_type).as_str() {
        "application/json" => (read_body(req, payload, state.max_body_bytes).await?, vec![]),
        "multipart/mixed" => {
            let boundary = multipart::boundary(content_type).ok_or_else(|| {
                ApiError::bad_request("a multipart/mixed Content-Type needs a boundary parameter")
            })?;
            let body = read_body(req, payload, state.max_body_bytes).await?;
            let mut parts = multipart::parse(&body, &boundary)
                .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?
                .into_iter();
            // Communication §1.5.2.s2.b2.b1: the first part holds the statements, as JSON.
            let first = parts
                .next()
                .ok_or_else(|| ApiError::bad_request("the multipart body has no parts"))?;
            if first.content_type_essence().as_deref() != Some("application/json") {
                return Err(ApiError::bad_request(
                    "the first part of a multipart/mixed request must be the statements, with \
                     Content-Type application/json",
                ));
            }
            let rest = parts
                .map(|p| ReceivedPart {
                    hash: p.header("x-experience-api-hash").map(str::to_string),
                    transfer_encoding: p.header("content-transfer-encoding").map(str::to_string),
                    body: p.body,
                })
                .collect();
            (first.body, rest)
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "Content-Type must be application/json or multipart/mixed, got `{content_type}`"
            )))
        }
    };
    // Parsing a large body is milliseconds of CPU (a batch of 1,000 statements: a quarter of
    // the server's work for it, callgrind): off the async executor, whose other requests
    // would wait meanwhile.
    let value = if json.len() > PARSE_INLINE_BYTES {
        web::block(move || parse_json(&json))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??
    } else {
        parse_json(&json)?
    };
    Ok((value, parts))
}

/// Parses the statements' JSON. The body's UTF-8 is checked once, as a whole, before parsing
/// from the `str`: parsing from bytes checked each string on its own, 4 % of the server's
/// instructions for a batch of 1,000 (callgrind).
fn parse_json(json: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(json)
        .map_err(|e| ApiError::bad_request(format!("the statements are not valid UTF-8: {e}")))?;
    serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the statements are not valid JSON: {e}")))
}

/// Bodies up to this size are parsed on the calling task (about 50 statements).
const PARSE_INLINE_BYTES: usize = 64 * 1024;

/// Validates, prepares and stores a batch atomically; returns the ids in request order.
async fn store_batch(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    statements: Vec<Value>,
    parts: Vec<ReceivedPart>,
) -> Result<Vec<Uuid>, ApiError> {
    let version = version::of(req);
    let batched = statements.len() > 1;
    // Large batches are CPU work (schema + rules); keep it off the async executor.
    let (statements, contents) = if statements.len() > 50 {
        web::block(move || check(statements, parts, version, batched))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??
    } else {
        check(statements, parts, version, batched)?
    };
    reject_repeated_ids(&statements)?;
    let authority = principal.authority.clone();
    let author = store::Author {
        store_id: principal.store_id,
        credential_id: principal.credential_id,
        may_define: principal.allows(Access::LearnDefinitions),
    };
    let result = store::insert_batch(
        &state.writes,
        &author,
        statements.len(),
        &contents,
        &state.order,
        &state.known,
        move |stored| {
            let assigned = Assigned {
                stored,
                authority: &authority,
                version,
            };
            statements
                .into_iter()
                .map(|s| prepare(s, &assigned))
                .collect()
        },
    )
    .await;
    match result {
        Ok(ids) => {
            // The server's warehouse loop gives way to clients' writes (`runner::catch_up`).
            if let Some(w) = req.app_data::<web::Data<Arc<Warehouse>>>() {
                w.clients_wrote(ids.len());
            }
            Ok(ids)
        }
        Err(InsertError::Conflict(id)) => Err(ApiError::Conflict(format!(
            "statement {id} already exists with different content; statements are immutable"
        ))),
        Err(InsertError::Store(e)) => Err(e.into()),
    }
}

/// Validates every statement, matches the attachment parts to their declarations and checks
/// signatures. Returns the statements and the attachment content to store.
fn check(
    statements: Vec<Value>,
    parts: Vec<ReceivedPart>,
    version: XapiVersion,
    batched: bool,
) -> Result<(Vec<Value>, Vec<Content>), ApiError> {
    let in_batch = |i: usize, message: String| {
        if batched {
            format!("statement {i} of the batch: {message}")
        } else {
            message
        }
    };
    for (i, s) in statements.iter().enumerate() {
        validate::statement(s, version).map_err(|v| if batched { v.in_batch(i) } else { v })?;
    }
    let contents = attachments::match_parts(&statements, parts).map_err(ApiError::bad_request)?;
    for (i, s) in statements.iter().enumerate() {
        // Data §2.6.s5.b1: a malformed signature is a 400.
        signature::check(s, &contents)
            .map_err(|e| ApiError::bad_request(in_batch(i, format!("invalid signature: {e}"))))?;
    }
    Ok((statements, contents))
}

/// Communication §2.1.2.s2.b6 (2.0: a requirement): a batch that uses an id more than once is
/// rejected.
fn reject_repeated_ids(batch: &[Value]) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::with_capacity(batch.len());
    let ids = batch
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str).and_then(parse_uuid));
    for id in ids {
        if !seen.insert(id) {
            return Err(ApiError::bad_request(format!(
                "the batch uses statement id {id} more than once"
            )));
        }
    }
    Ok(())
}

/// Parameters of a single-statement GET; any other filter next to them is a 400.
const SINGLE_PARAMS: [&str; 4] = ["statementId", "voidedStatementId", "format", "attachments"];
/// Parameters of a statement query (Communication §2.1.3), plus `from`, the cursor that
/// `more` links carry.
const QUERY_PARAMS: [&str; 15] = [
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "from",
];
/// Largest page; `limit=0` asks for it (Communication §2.1.3).
const MAX_LIMIT: i64 = 1000;

/// Fetches one statement, or queries statements page by page.
///
/// `GET /xapi/statements` (Communication §2.1.3): one statement by `statementId` /
/// `voidedStatementId`, or a filtered, paged query, which answers a `StatementResult` whose
/// `more` IRL fetches the next page. Scopes: `all`, `all/read`, `statements/read`, or
/// `statements/read/mine` (only the statements this credential stored).
#[utoipa::path(
    method(get, head),
    path = "/xapi/statements",
    tag = "Statements",
    params(
        StatementParams,
        (
            "Accept-Language" = Option<String>, Header,
            description = "Languages to keep in language maps with `format=canonical`."
        )
    ),
    responses(
        (
            status = 200,
            description = "With `statementId` or `voidedStatementId`, the statement (with a \
                `Last-Modified` header); otherwise a page of statements. With \
                `attachments=true`, `multipart/mixed`: the JSON first, then each attachment's \
                content once.",
            content(
                (StatementOrResult = "application/json"),
                ("multipart/mixed")
            )
        ),
        (status = 404, response = NotFound),
        CommonErrors,
    ),
    security(
        ("basic" = ["all"]),
        ("basic" = ["all/read"]),
        ("basic" = ["statements/read"]),
        ("basic" = ["statements/read/mine"])
    )
)]
#[tracing::instrument(name = "GET /xapi/statements", skip_all)]
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let principal = authorize(&req, &state, Access::ReadStatements).await?;
    let params = Params::parse(req.query_string(), &QUERY_PARAMS)?;
    let format = match params.get("format") {
        None => Format::Exact,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::bad_request(format!("format must be exact, ids or canonical, not `{f}`"))
        })?,
    };
    let attachments = flag(&params, "attachments")?;
    let languages = accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let own_only = match read_reach(&principal.scopes) {
        Some(ReadReach::Everything) => None,
        _ => Some(principal.credential_id),
    };
    if params.has("statementId") || params.has("voidedStatementId") {
        if let Some(other) = QUERY_PARAMS
            .iter()
            .find(|p| params.has(p) && !SINGLE_PARAMS.contains(p))
        {
            return Err(ApiError::bad_request(format!(
                "`{other}` cannot be combined with statementId or voidedStatementId"
            )));
        }
        return get_one(
            &state,
            &principal,
            &params,
            own_only,
            format,
            &languages,
            attachments,
        )
        .await;
    }
    let mut query = parse_query(&params, version::of(&req), own_only)?;
    if query.ascending {
        query.horizon = Some(
            state
                .order
                .horizon(&state.pool)
                .await
                .map_err(crate::store::StoreError::from)?,
        );
    }
    let page = statement_queries::query(&state.pool, principal.store_id, &query).await?;
    let mut statements = page.statements;
    for s in &mut statements {
        apply_format(s, format, &languages);
    }
    let more = page
        .next_cursor
        .map(|cursor| more_link(req.query_string(), cursor))
        .unwrap_or_default();
    let body = serde_json::json!({ "statements": &statements, "more": more });
    respond(
        &state,
        principal.store_id,
        HttpResponse::Ok(),
        &body,
        &statements,
        attachments,
    )
    .await
}

async fn get_one(
    state: &AppState,
    principal: &Principal,
    params: &Params,
    own_only: Option<i64>,
    format: Format,
    languages: &[String],
    attachments: bool,
) -> Result<HttpResponse, ApiError> {
    let (name, want_voided) = match (params.get("statementId"), params.get("voidedStatementId")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "statementId and voidedStatementId cannot be used together",
            ))
        }
        (Some(_), None) => ("statementId", false),
        _ => ("voidedStatementId", true),
    };
    let id = params.get(name).unwrap_or_default();
    let uuid = parse_uuid(id)
        .ok_or_else(|| ApiError::bad_request(format!("{name} `{id}` is not a UUID")))?;
    let found = store::find(&state.pool, principal.store_id, uuid)
        .await?
        .filter(|s| s.voided == want_voided)
        .filter(|s| own_only.is_none() || s.credential_id == own_only)
        .ok_or_else(|| {
            ApiError::NotFound(if want_voided {
                format!("no voided statement {uuid}")
            } else {
                format!(
                    "no statement {uuid} (voided statements are fetched with voidedStatementId)"
                )
            })
        })?;
    let mut statement = found.statement;
    apply_format(&mut statement, format, languages);
    let mut response = HttpResponse::Ok();
    response.insert_header((header::LAST_MODIFIED, http_date(found.stored)));
    respond(
        state,
        principal.store_id,
        response,
        &statement,
        std::slice::from_ref(&statement),
        attachments,
    )
    .await
}

fn apply_format(statement: &mut Value, format: Format, languages: &[String]) {
    crate::xapi::format::apply(statement, format, languages);
}

/// JSON, or with `attachments=true` a `multipart/mixed` body: the JSON first, then one part
/// per distinct attachment content the statements declare (Communication §2.1.3, §1.5.2).
async fn respond(
    state: &AppState,
    store_id: i64,
    mut response: actix_web::HttpResponseBuilder,
    body: &Value,
    statements: &[Value],
    attachments: bool,
) -> Result<HttpResponse, ApiError> {
    if !attachments {
        return Ok(response.json(body));
    }
    // Content types come from the first statement declaring each hash.
    let mut declared: Vec<(String, String)> = Vec::new();
    for attachment in statements.iter().flat_map(attachments::declared) {
        let Some(sha2) = attachment.get("sha2").and_then(Value::as_str) else {
            continue;
        };
        let sha2 = sha2.to_ascii_lowercase();
        if !declared.iter().any(|(h, _)| *h == sha2) {
            let content_type = attachment
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream");
            declared.push((sha2, content_type.to_string()));
        }
    }
    let hashes: Vec<String> = declared.iter().map(|(h, _)| h.clone()).collect();
    let contents = store_attachments::fetch(&state.pool, store_id, &hashes).await?;
    let json = body.to_string();
    let mut parts = vec![(
        vec![("Content-Type", "application/json".to_string())],
        json.as_bytes(),
    )];
    for (sha2, content_type) in &declared {
        // Attachments sent only by fileUrl have no content here.
        if let Some(c) = contents.iter().find(|c| c.sha2 == *sha2) {
            parts.push((
                vec![
                    ("Content-Type", content_type.clone()),
                    ("Content-Transfer-Encoding", "binary".to_string()),
                    ("X-Experience-API-Hash", sha2.clone()),
                ],
                &c.bytes[..],
            ));
        }
    }
    let (boundary, bytes) = multipart::build(&parts);
    Ok(response
        .insert_header((
            header::CONTENT_TYPE,
            format!("multipart/mixed; boundary={boundary}"),
        ))
        .body(bytes))
}

fn flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    match params.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name} must be true or false, not `{other}`"
        ))),
    }
}

/// Turns query parameters into a typed query, validating each value to the standard of the
/// same type in statements (Data §2.2.s4.b4).
fn parse_query(
    params: &Params,
    version: XapiVersion,
    own_only: Option<i64>,
) -> Result<StatementQuery, ApiError> {
    let agent_ifi = match params.get("agent") {
        None => None,
        Some(text) => {
            let agent: Value = serde_json::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("agent is not valid JSON: {e}")))?;
            validate::agent_parameter(&agent, version).map_err(|v| {
                ApiError::bad_request(format!("agent is not a valid Agent or Group: {v}"))
            })?;
            Some(ifi::key(&agent).ok_or_else(|| {
                ApiError::bad_request("agent must be an Agent or an identified Group")
            })?)
        }
    };
    let iri = |name: &str| -> Result<Option<String>, ApiError> {
        match params.get(name) {
            Some(v) if !is_iri(v) => {
                Err(ApiError::bad_request(format!("{name} `{v}` is not an IRI")))
            }
            v => Ok(v.map(str::to_string)),
        }
    };
    let time = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        params
            .get(name)
            .map(|v| {
                parse_timestamp(v).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} `{v}` is not an ISO 8601 timestamp"))
                })
            })
            .transpose()
    };
    let registration = params
        .get("registration")
        .map(|v| {
            parse_uuid(v)
                .ok_or_else(|| ApiError::bad_request(format!("registration `{v}` is not a UUID")))
        })
        .transpose()?;
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => match v.parse::<i64>() {
            Ok(0) => MAX_LIMIT,
            Ok(n) if n > 0 => n.min(MAX_LIMIT),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit must be a non-negative integer, not `{v}`"
                )))
            }
        },
    };
    let cursor = params
        .get("from")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("from `{v}` is not a page cursor")))
        })
        .transpose()?;
    Ok(StatementQuery {
        agent_ifi,
        verb: iri("verb")?,
        activity: iri("activity")?,
        registration,
        related_activities: flag(params, "related_activities")?,
        related_agents: flag(params, "related_agents")?,
        since: time("since")?,
        until: time("until")?,
        ascending: flag(params, "ascending")?,
        limit,
        credential_id: own_only,
        cursor,
        horizon: None,
    })
}

/// The `more` IRL: the same query, continuing after `cursor` (relative, Communication §2.1.3).
fn more_link(query_string: &str, cursor: i64) -> String {
    let kept: Vec<&str> = query_string
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("from="))
        .collect();
    let mut link = String::from("/xapi/statements?");
    for p in kept {
        link.push_str(p);
        link.push('&');
    }
    link.push_str(&format!("from={cursor}"));
    link
}
