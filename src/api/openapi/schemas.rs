//! Schemas of the request and response bodies that are not Rust types of their own: xAPI
//! objects are JSON checked by `crate::xapi`, so they appear here as documented free-form
//! objects rather than a hand-made model of the whole specification.

use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// An xAPI Statement: a JSON object with `actor`, `verb` and `object` and optionally `id`,
/// `result`, `context`, `timestamp`, `attachments` and the properties the LRS assigns
/// (`stored`, `authority`, `version`). Cairn validates it in full (JSON Schema plus the rules
/// of the specification) and rejects the whole request when one statement is invalid. See
/// [xAPI 1.0.3 Data §2.4](https://github.com/adlnet/xAPI-Spec/blob/master/xAPI-Data.md#2.4)
/// and, for 2.0.0 requests, xAPI 2.0 (IEEE 9274.1.1) §4.2.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Statement(pub serde_json::Value);

/// A page of statements (xAPI 1.0.3 Data §2.5, StatementResult).
#[derive(ToSchema)]
pub struct StatementResult {
    /// The statements of this page, newest stored first unless `ascending=true`.
    pub statements: Vec<Statement>,
    /// Relative IRL of the next page (`/xapi/statements?…&from=…`), or an empty string when
    /// this is the last page.
    #[schema(
        example = "/xapi/statements?registration=9e13cefd-53d3-4eac-b5ed-2cf6693903bb&from=41"
    )]
    pub more: String,
}

/// What the LRS serves (xAPI 1.0.3 Communication §2.8).
#[derive(ToSchema)]
pub struct About {
    /// The xAPI versions this LRS serves.
    #[schema(example = json!(["1.0.3", "2.0.0"]))]
    pub version: Vec<String>,
    /// Extensions keyed by IRI; `https://cairn.dev/xapi/extensions/server` names the server and
    /// its version.
    #[schema(value_type = Object)]
    pub extensions: serde_json::Value,
}

/// An Activity object with the LRS's canonical definition of it (xAPI 1.0.3 Communication §2.5,
/// Data §2.4.4.1): `objectType`, `id` and, when the LRS knows one, `definition`.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Activity(pub serde_json::Value);

/// A Person object (xAPI 1.0.3 Communication §2.4): `objectType: "Person"` and arrays of the
/// `name`, `mbox`, `mbox_sha1sum`, `openid` and `account` values known for the Agent.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct Person(pub serde_json::Value);

/// The form of an alternate-syntax request (xAPI 1.0.3 Communication §1.3; removed in 2.0):
/// a `POST` with `?method=PUT|POST|GET|HEAD|DELETE` whose `application/x-www-form-urlencoded`
/// body carries the intended request's headers, parameters and content. Every form field not
/// listed here becomes a query parameter of the intended request (e.g. `statementId`).
#[derive(ToSchema)]
pub struct AlternateRequest {
    /// HTTP Basic credentials, as the `Authorization` header would carry them.
    #[schema(rename = "Authorization", example = "Basic a2V5OnNlY3JldA==")]
    pub authorization: Option<String>,
    /// The xAPI version (1.0.x; the syntax does not exist in 2.0).
    #[schema(rename = "X-Experience-API-Version", example = "1.0.3")]
    pub version: Option<String>,
    /// Content-Type of `content` (default `application/json`).
    #[schema(rename = "Content-Type")]
    pub content_type: Option<String>,
    /// `If-Match` of the intended request (document resources).
    #[schema(rename = "If-Match")]
    pub if_match: Option<String>,
    /// `If-None-Match` of the intended request (document resources).
    #[schema(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
    /// The body of the intended request, e.g. the statement as JSON text.
    pub content: Option<String>,
}

/// What `GET /xapi/statements` answers in JSON: one statement (with `statementId` or
/// `voidedStatementId`) or a [`StatementResult`].
pub struct StatementOrResult;

impl PartialSchema for StatementOrResult {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(Statement::name()))
            .item(Ref::from_schema_name(StatementResult::name()))
            .description(Some(
                "The statement asked for by `statementId` or `voidedStatementId`, or a page \
                 of statements.",
            ))
            .into()
    }
}

impl ToSchema for StatementOrResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Statement::name().into(), Statement::schema()));
        schemas.push((StatementResult::name().into(), StatementResult::schema()));
        <StatementResult as ToSchema>::schemas(schemas);
    }
}

/// What `POST /xapi/statements` takes in JSON: one statement or an array of them.
pub struct StatementOrBatch;

impl PartialSchema for StatementOrBatch {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(Statement::name()))
            .item(ArrayBuilder::new().items(Ref::from_schema_name(Statement::name())))
            .description(Some(
                "One statement, or an array of statements stored together or not at all.",
            ))
            .into()
    }
}

impl ToSchema for StatementOrBatch {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Statement::name().into(), Statement::schema()));
    }
}
