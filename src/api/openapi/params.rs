//! Query and header parameters of the xAPI resources, with the descriptions of the
//! specification's parameter tables (xAPI 1.0.3 Communication §2.1.3, §2.3–§2.7). The handlers
//! parse the query string themselves (`api::params`); these types only document it.

use chrono::{DateTime, Utc};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `GET /xapi/statements` (Communication §2.1.3). `statementId` or `voidedStatementId` fetch
/// one statement and may only be combined with `format` and `attachments`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementParams {
    /// Id of the statement to fetch.
    #[param(rename = "statementId")]
    pub statement_id: Option<Uuid>,
    /// Id of the voided statement to fetch.
    #[param(rename = "voidedStatementId")]
    pub voided_statement_id: Option<Uuid>,
    /// Agent or identified Group object (JSON). Only statements for which it is the actor or
    /// the object, or a member of the Group that is, are returned.
    #[param(example = r#"{"mbox":"mailto:ann@example.com"}"#)]
    pub agent: Option<String>,
    /// Verb id (IRI): only statements with this verb.
    #[param(example = "http://adlnet.gov/expapi/verbs/completed")]
    pub verb: Option<String>,
    /// Activity id (IRI): only statements whose object is this Activity.
    pub activity: Option<String>,
    /// Only statements with this registration.
    pub registration: Option<Uuid>,
    /// Apply the `activity` filter broadly: the object, any context Activity, or those of a
    /// contained SubStatement match.
    pub related_activities: Option<bool>,
    /// Apply the `agent` filter broadly: actor, object, authority, instructor, team, or those
    /// of a contained SubStatement match.
    pub related_agents: Option<bool>,
    /// Only statements stored after this timestamp (exclusive).
    pub since: Option<DateTime<Utc>>,
    /// Only statements stored at or before this timestamp.
    pub until: Option<DateTime<Utc>>,
    /// Largest number of statements in the page: default 100, `0` or more than 1000 means
    /// 1000, the most Cairn returns at once.
    #[param(minimum = 0)]
    pub limit: Option<u32>,
    /// `exact` (default): objects as received; `ids`: only what identifies Agents, Groups,
    /// Activities and Verbs; `canonical`: Activities and Verbs with the LRS's canonical
    /// definitions, language maps filtered by `Accept-Language`.
    #[param(inline)]
    pub format: Option<StatementFormat>,
    /// `true`: answer `multipart/mixed`, the statements first and then each attachment's
    /// content once.
    pub attachments: Option<bool>,
    /// `true`: oldest stored first.
    pub ascending: Option<bool>,
    /// Page cursor carried by `more` links; not set by clients.
    pub from: Option<i64>,
}

/// The `format` of statements returned by a query.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum StatementFormat {
    Ids,
    Exact,
    Canonical,
}

/// The parameter of `PUT /xapi/statements`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementId {
    /// Id of the statement; must equal the body's `id` when it has one.
    #[param(rename = "statementId")]
    pub statement_id: Uuid,
}

/// The context of State documents (Communication §2.3).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StateContext {
    /// The Activity id (IRI) associated with the state.
    #[param(rename = "activityId", example = "http://example.com/activities/quiz")]
    pub activity_id: String,
    /// The Agent (JSON; an Agent object with one inverse functional identifier) associated
    /// with the state.
    #[param(example = r#"{"mbox":"mailto:ann@example.com"}"#)]
    pub agent: String,
    /// The registration associated with the state.
    pub registration: Option<Uuid>,
}

/// The Activity of Activity Profile documents (Communication §2.7).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProfileActivity {
    /// The Activity id (IRI) associated with the profile.
    #[param(rename = "activityId", example = "http://example.com/activities/quiz")]
    pub activity_id: String,
}

/// The Agent of Agent Profile documents (Communication §2.6), or of the Agents Resource
/// (Communication §2.4).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentParam {
    /// The Agent (JSON; an Agent object with one inverse functional identifier).
    #[param(example = r#"{"mbox":"mailto:ann@example.com"}"#)]
    pub agent: String,
}

/// The Activity of the Activities Resource (Communication §2.5).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityParam {
    /// The Activity id (IRI) to describe.
    #[param(rename = "activityId", example = "http://example.com/activities/quiz")]
    pub activity_id: String,
}

/// Lists document ids instead of returning one document (Communication §2.2.s4).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Since {
    /// Only ids of documents stored after this timestamp (exclusive); only without the
    /// document id.
    pub since: Option<DateTime<Utc>>,
}

/// Concurrency control of document writes (Communication §3.1).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct Preconditions {
    /// The quoted ETag the document must have (or `*`: it must exist); otherwise 412.
    #[param(
        rename = "If-Match",
        example = "\"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12\""
    )]
    pub if_match: Option<String>,
    /// `*`: the document must not exist yet; otherwise 412.
    #[param(rename = "If-None-Match", example = "*")]
    pub if_none_match: Option<String>,
}
