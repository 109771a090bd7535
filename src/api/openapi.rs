//! The OpenAPI document of every endpoint Cairn serves, generated from the handlers'
//! `#[utoipa::path]` annotations, and the routes that serve it: `GET /openapi.json` and the
//! documentation page `GET /docs` (self-contained: no CDN, works offline). `cairn openapi`
//! prints the same document; `openapi/openapi.json` is its committed copy.
//!
//! To document a new endpoint: annotate its handler with `#[utoipa::path(...)]` (tag, security,
//! `CommonErrors` for the shared error responses) and add the handler to `paths(...)` below,
//! and its tag to `tags(...)` when it is a new one. The first line of the handler's doc
//! comment is the operation's summary, the rest its description; operation ids are derived
//! from method and path.

pub mod analytics;
pub mod params;
pub mod responses;
pub mod schemas;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HeaderBuilder, OpenApi as Document, Required};
use utoipa::{Modify, OpenApi};

use super::{
    about, activities, activity_profile, agent_profile, agents, error, etl, reports, sql, state,
    statements, ApiError,
};

/// The name of the HTTP Basic security scheme operations refer to.
pub const BASIC: &str = "basic";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn",
        description = "Cairn is an xAPI Learning Record Store (xAPI 1.0.3 and 2.0 / IEEE \
            9274.1.1) on PostgreSQL, with an embedded DuckDB analytics warehouse. Section \
            numbers (§) refer to xAPI 1.0.3 Communication unless they say otherwise.\n\n\
            Every request under `/xapi` except `/xapi/about` carries an \
            `X-Experience-API-Version` header (`1.0.0`–`1.0.3` or `2.0.0`); every response \
            under `/xapi` states the version served in the same header. Requests authenticate \
            with HTTP Basic credentials created by `cairn credentials create`; the scopes of \
            the credential decide what it may do (each operation lists the scopes that allow \
            it). Errors are JSON `ErrorBody` objects."
    ),
    paths(
        about::about,
        statements::put,
        statements::post,
        statements::get,
        state::put,
        state::post,
        state::get,
        state::delete,
        activity_profile::put,
        activity_profile::post,
        activity_profile::get,
        activity_profile::delete,
        agent_profile::put,
        agent_profile::post,
        agent_profile::get,
        agent_profile::delete,
        activities::get,
        agents::get,
        etl::status,
        reports::list,
        reports::report,
        sql::query,
        openapi_json,
        docs,
    ),
    components(
        schemas(error::ErrorBody, analytics::ReportName),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PreconditionFailed,
            responses::PayloadTooLarge,
            responses::Internal,
            responses::Unavailable,
        )
    ),
    modifiers(&BasicAuth, &XapiHeaders, &OperationIds),
    tags(
        // Section numbers are those of xAPI 1.0.3 Communication.
        (name = "About", description = "The versions this LRS serves (§2.8)."),
        (
            name = "Statements",
            description = "The Statement Resource (§2.1): store, fetch and query statements."
        ),
        (
            name = "State",
            description = "The State Resource (§2.3): documents an Activity keeps per Agent."
        ),
        (
            name = "Activity Profile",
            description = "The Activity Profile Resource (§2.7): documents about an Activity."
        ),
        (
            name = "Agent Profile",
            description = "The Agent Profile Resource (§2.6): documents about an Agent."
        ),
        (
            name = "Activities",
            description = "The Activities Resource (§2.5): an Activity's canonical definition."
        ),
        (
            name = "Agents",
            description = "The Agents Resource (§2.4): what the LRS knows about an Agent."
        ),
        (name = "ETL", description = "The analytics warehouse's ETL (PostgreSQL → DuckDB)."),
        (
            name = "Reports",
            description = "Reports from the warehouse's gold layer, as JSON, CSV, Arrow or \
                Parquet, each read from one committed warehouse state."
        ),
        (
            name = "SQL",
            description = "One read-only SELECT over the gold layer, sandboxed and limited."
        ),
        (name = "OpenAPI", description = "This document and its documentation page."),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a trailing newline: what `cairn openapi` prints and
/// `openapi/openapi.json` holds.
pub fn to_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

/// HTTP Basic, with the scopes explained (xAPI 1.0.3 Communication §4.2; `auth::scopes`).
struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut Document) {
        let description = "HTTP Basic with a credential's key and secret (`cairn credentials \
            create --name NAME --scopes …`). Scopes: `all` (everything), `all/read` (every \
            read), `statements/write`, `statements/read` (every statement), \
            `statements/read/mine` (only statements this credential stored), `state` (State \
            documents), `profile` (Activity and Agent Profile documents), `define` (its \
            statements define Activities; read Activities and Agents), `analytics/read` (the \
            analytics warehouse: ETL status, reports, ad-hoc SQL). An operation's \
            security requirements list each scope that allows it.";
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some(description))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BASIC, SecurityScheme::Http(scheme));
    }
}

/// The headers the version middleware (`api::version`) requires and adds on `/xapi`, declared
/// once here for every operation it applies to rather than on each handler.
struct XapiHeaders;

impl Modify for XapiHeaders {
    fn modify(&self, openapi: &mut Document) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/xapi/") {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.head,
            ];
            for operation in operations.into_iter().flatten() {
                if path != "/xapi/about" {
                    require_version(operation);
                }
                state_versions(operation, path == "/xapi/statements");
            }
        }
    }
}

/// Communication §3.3: the request states its xAPI version.
fn require_version(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name("X-Experience-API-Version")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some(
            "The xAPI version of the request (Communication §3.3): `1.0.0`–`1.0.3` or `2.0.0`. \
             Missing or unsupported: 400.",
        ))
        .schema(Some(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String),
        ))
        .example(Some(serde_json::json!("2.0.0")))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .insert(0, parameter);
}

/// Communication §3.3 and §2.1.3.s2.b5: responses state the version served; Statement Resource
/// responses also say up to when the store is consistent. Shared (`$ref`) error responses
/// carry the headers too but cannot say so per path.
fn state_versions(operation: &mut Operation, statements: bool) {
    for response in operation.responses.responses.values_mut() {
        let utoipa::openapi::RefOr::T(response) = response else {
            continue;
        };
        response.headers.insert(
            "X-Experience-API-Version".into(),
            HeaderBuilder::new()
                .description(Some("The xAPI version served: `1.0.3` or `2.0.0`."))
                .build(),
        );
        if statements {
            response.headers.insert(
                "X-Experience-API-Consistent-Through".into(),
                HeaderBuilder::new()
                    .description(Some(
                        "Timestamp before which every statement stored is visible to \
                         queries (Communication §2.1.3).",
                    ))
                    .build(),
            );
        }
    }
}

/// Operation ids from method and path (`get_xapi_activities_state`): unique by construction,
/// where the handlers' names repeat across resources and GET and HEAD share a handler.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut Document) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let words: Vec<&str> = path
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("head", &mut item.head),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    operation.operation_id = Some(format!("{method}_{}", words.join("_")));
                }
            }
        }
    }
}

/// The routes serving the document and its page; no authentication.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get_only = || {
        web::to(|| async {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed(
                "this resource allows GET".into(),
            ))
        })
    };
    cfg.service(
        web::resource("/openapi.json")
            .route(web::get().to(openapi_json))
            .default_service(get_only()),
    )
    .service(
        web::resource("/docs")
            .route(web::get().to(docs))
            .default_service(get_only()),
    );
}

/// This OpenAPI document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "OpenAPI",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(to_json())
}

/// A browsable documentation page for this document.
///
/// Self-contained HTML that renders `/openapi.json`; it loads nothing from other hosts.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "OpenAPI",
    responses((status = 200, description = "The documentation page", content_type = "text/html"))
)]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Nothing but this page and requests to this server.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:",
        ))
        .body(include_str!("openapi/docs.html"))
}
