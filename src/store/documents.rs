//! Documents of the State, Activity Profile and Agent Profile Resources: exact bytes, content
//! type, ETag and a strictly increasing `updated` time per document. Every write checks the
//! concurrency preconditions against the row it locks, in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::StoreError;
use crate::xapi::document::{self, Kind, MergeError, Preconditions, Verdict, Write};
use crate::xapi::XapiVersion;

/// Where documents live: the resource and its context. `registration` is `None` for State
/// documents stored without one (and for the profile resources).
#[derive(Debug, Clone)]
pub struct Context {
    pub kind: Kind,
    pub activity_iri: String,
    pub agent_ifi: String,
    pub registration: Option<Uuid>,
}

impl Context {
    /// The registration column: the nil UUID stands for "no registration".
    fn registration(&self) -> Uuid {
        self.registration.unwrap_or(Uuid::nil())
    }
}

/// A stored document.
#[derive(Debug, Clone)]
pub struct Document {
    pub content_type: String,
    pub content: Vec<u8>,
    /// Unquoted lowercase SHA-1 hex of `content`.
    pub etag: String,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MissingPrecondition(String),
    #[error("{}", .0.0)]
    Merge(MergeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Store(StoreError::Database(e))
    }
}

/// A PUT, POST or DELETE of one document and what the request said about it.
pub struct Request<'a> {
    pub version: XapiVersion,
    pub write: Write,
    pub preconditions: &'a Preconditions,
    /// Content-Type and body of a PUT or POST.
    pub content_type: &'a str,
    pub body: &'a [u8],
}

#[tracing::instrument(skip(pool))]
pub async fn get(
    pool: &PgPool,
    store_id: i64,
    ctx: &Context,
    doc_id: &str,
) -> Result<Option<Document>, StoreError> {
    let row: Option<(String, Vec<u8>, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT content_type, content, etag, updated FROM documents
         WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
           AND registration = $5 AND doc_id = $6",
    )
    .bind(store_id)
    .bind(ctx.kind.as_str())
    .bind(&ctx.activity_iri)
    .bind(&ctx.agent_ifi)
    .bind(ctx.registration())
    .bind(doc_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(content_type, content, etag, updated)| Document {
        content_type,
        content,
        etag,
        updated,
    }))
}

/// The ids of the documents in a context updated after `since` (exclusive), and the latest
/// `updated` among them. Without a registration, State documents of every registration count
/// (Communication §2.3.s4: "Activity + Agent [+ registration if specified]").
#[tracing::instrument(skip(pool))]
pub async fn list_ids(
    pool: &PgPool,
    store_id: i64,
    ctx: &Context,
    since: Option<DateTime<Utc>>,
) -> Result<(Vec<String>, Option<DateTime<Utc>>), StoreError> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT doc_id, updated FROM documents
         WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
           AND ($5::uuid IS NULL OR registration = $5)
           AND ($6::timestamptz IS NULL OR updated > $6)
         ORDER BY updated, doc_id",
    )
    .bind(store_id)
    .bind(ctx.kind.as_str())
    .bind(&ctx.activity_iri)
    .bind(&ctx.agent_ifi)
    .bind(ctx.registration)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let latest = rows.iter().map(|(_, u)| *u).max();
    // The same id may exist under several registrations; it is listed once.
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = rows
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| seen.insert(id.clone()))
        .collect();
    Ok((ids, latest))
}

/// Deletes every document of a context (Communication §2.3.s5; every registration when none
/// is given).
#[tracing::instrument(skip(pool))]
pub async fn delete_all(pool: &PgPool, store_id: i64, ctx: &Context) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM documents
         WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
           AND ($5::uuid IS NULL OR registration = $5)",
    )
    .bind(store_id)
    .bind(ctx.kind.as_str())
    .bind(&ctx.activity_iri)
    .bind(&ctx.agent_ifi)
    .bind(ctx.registration)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Applies a PUT, POST or DELETE to one document after checking its preconditions.
#[tracing::instrument(skip(pool, req), fields(write = ?req.write))]
pub async fn write(
    pool: &PgPool,
    store_id: i64,
    ctx: &Context,
    doc_id: &str,
    req: &Request<'_>,
) -> Result<(), WriteError> {
    // A concurrent first insert of the same document makes ours a no-op; then the document
    // exists and the preconditions are checked again against it.
    for _ in 0..3 {
        let mut tx = pool.begin().await?;
        if write_once(&mut tx, store_id, ctx, doc_id, req).await? {
            tx.commit().await?;
            return Ok(());
        }
    }
    Err(WriteError::Conflict(
        "the document is being written concurrently; try again".into(),
    ))
}

/// One attempt; `false` when the document appeared concurrently.
async fn write_once(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    ctx: &Context,
    doc_id: &str,
    req: &Request<'_>,
) -> Result<bool, WriteError> {
    let current: Option<(String, Vec<u8>, String)> = sqlx::query_as(
        "SELECT content_type, content, etag FROM documents
         WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
           AND registration = $5 AND doc_id = $6
         FOR UPDATE",
    )
    .bind(store_id)
    .bind(ctx.kind.as_str())
    .bind(&ctx.activity_iri)
    .bind(&ctx.agent_ifi)
    .bind(ctx.registration())
    .bind(doc_id)
    .fetch_optional(&mut **tx)
    .await?;
    let current_etag = current.as_ref().map(|(_, _, e)| e.as_str());
    match document::check(
        req.version,
        ctx.kind,
        req.write,
        req.preconditions,
        current_etag,
    ) {
        Verdict::Proceed => {}
        Verdict::PreconditionFailed(m) => return Err(WriteError::PreconditionFailed(m)),
        Verdict::Conflict(m) => return Err(WriteError::Conflict(m)),
        Verdict::MissingPrecondition(m) => return Err(WriteError::MissingPrecondition(m)),
    }
    let (content_type, content): (&str, std::borrow::Cow<'_, [u8]>) = match (req.write, &current) {
        (Write::Delete, _) => {
            if current.is_some() {
                sqlx::query(
                    "DELETE FROM documents
                     WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
                       AND registration = $5 AND doc_id = $6",
                )
                .bind(store_id)
                .bind(ctx.kind.as_str())
                .bind(&ctx.activity_iri)
                .bind(&ctx.agent_ifi)
                .bind(ctx.registration())
                .bind(doc_id)
                .execute(&mut **tx)
                .await?;
            }
            return Ok(true);
        }
        // Communication §2.2.s7: POST to an existing document merges JSON Objects.
        (Write::Post, Some((stored_type, stored, _))) => {
            let merged = document::merge(stored_type, stored, req.content_type, req.body)
                .map_err(WriteError::Merge)?;
            (stored_type.as_str(), merged.into())
        }
        _ => (req.content_type, req.body.into()),
    };
    let etag = document::etag(&content);
    if current.is_some() {
        // xAPI 2.0 §4.1.6.2: Last-Modified changes with every update, so `updated` is strictly
        // later than before even when the clock has not moved a millisecond.
        sqlx::query(
            "UPDATE documents
             SET content_type = $7, content = $8, etag = $9,
                 updated = GREATEST(date_trunc('milliseconds', clock_timestamp()),
                                    updated + interval '1 millisecond')
             WHERE store_id = $1 AND kind = $2 AND activity_iri = $3 AND agent_ifi = $4
               AND registration = $5 AND doc_id = $6",
        )
        .bind(store_id)
        .bind(ctx.kind.as_str())
        .bind(&ctx.activity_iri)
        .bind(&ctx.agent_ifi)
        .bind(ctx.registration())
        .bind(doc_id)
        .bind(content_type)
        .bind(content.as_ref())
        .bind(&etag)
        .execute(&mut **tx)
        .await?;
        return Ok(true);
    }
    let inserted = sqlx::query(
        "INSERT INTO documents (store_id, kind, activity_iri, agent_ifi, registration, doc_id,
                                content_type, content, etag, updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, date_trunc('milliseconds', clock_timestamp()))
         ON CONFLICT DO NOTHING",
    )
    .bind(store_id)
    .bind(ctx.kind.as_str())
    .bind(&ctx.activity_iri)
    .bind(&ctx.agent_ifi)
    .bind(ctx.registration())
    .bind(doc_id)
    .bind(content_type)
    .bind(content.as_ref())
    .bind(&etag)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}
