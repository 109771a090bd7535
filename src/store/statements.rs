//! Statements: insert a batch in one transaction (bulk `UNNEST` inserts, voiding, link rows),
//! and read single statements.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::write_order::WriteOrder;
use super::StoreError;
use crate::xapi::attachments::Content;
use crate::xapi::equivalence::equivalent;
use crate::xapi::prepare::Prepared;

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// Data §2.3.1 / Communication §2.1.1: an existing statement with this id differs.
    #[error("statement {0} already exists with different content")]
    Conflict(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for InsertError {
    fn from(e: sqlx::Error) -> Self {
        InsertError::Store(StoreError::Database(e))
    }
}

/// Batches up to this size are prepared on the calling task.
const PREPARE_INLINE: usize = 50;

/// Stores a batch and the attachment content it declares atomically; returns the ids in
/// order. `prepare` turns the validated statements into rows once their `stored` time is
/// assigned (see [`WriteOrder`]). Statements whose id already exists with equivalent content
/// are accepted without change; a differing one fails the whole batch with
/// [`InsertError::Conflict`].
#[tracing::instrument(skip_all, fields(store_id))]
pub async fn insert_batch(
    pool: &PgPool,
    store_id: i64,
    credential_id: i64,
    count: usize,
    contents: &[Content],
    order: &WriteOrder,
    prepare: impl FnOnce(DateTime<Utc>) -> Vec<Prepared> + Send + 'static,
) -> Result<Vec<Uuid>, InsertError> {
    let reservation = order.reserve(pool, count).await?;
    let _in_flight = reservation.in_flight;
    let stored = reservation.stored;
    // Preparing a large batch is milliseconds of CPU: off the async executor, whose other
    // requests would wait meanwhile.
    let batch = if count > PREPARE_INLINE {
        tokio::task::spawn_blocking(move || prepare(stored))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    } else {
        prepare(stored)
    };
    if batch.len() != reservation.seqs.len() {
        return Err(StoreError::Corrupt(format!(
            "{} statements prepared for {} reserved sequence numbers",
            batch.len(),
            reservation.seqs.len()
        ))
        .into());
    }
    let mut tx = pool.begin().await?;
    let inserted = insert_rows(&mut tx, store_id, credential_id, &batch, &reservation.seqs).await?;
    let batch = &batch[..];
    if inserted.len() < batch.len() {
        check_existing(&mut tx, store_id, batch, &inserted).await?;
    }
    let seq_of: std::collections::HashMap<Uuid, i64> = inserted.into_iter().collect();
    let new: Vec<(&Prepared, i64)> = batch
        .iter()
        .filter_map(|p| seq_of.get(&p.id).map(|seq| (p, *seq)))
        .collect();
    insert_links(&mut tx, store_id, &new).await?;
    link_targets(&mut tx, store_id, &new).await?;
    apply_voiding(&mut tx, store_id, &new).await?;
    super::attachments::insert(&mut tx, store_id, contents).await?;
    tx.commit().await?;
    // Activity definitions and agent names are learned in a transaction of their own once the
    // statements are stored. Inside the statements' transaction, concurrent batches that
    // introduced the same new activity or agent waited on each other's unique-index insert
    // until the other's whole batch committed, which serialized ingest. If this step fails the
    // statements stay stored; the next statement naming the activity or agent teaches it again.
    let learned = async {
        let mut tx = pool.begin().await?;
        super::definitions::learn(&mut tx, store_id, credential_id, &new).await?;
        tx.commit().await
    };
    if let Err(e) = learned.await {
        tracing::warn!(error = %e, "statements stored; learning their definitions failed");
    }
    Ok(batch.iter().map(|p| p.id).collect())
}

/// Inserts the rows; returns (id, seq) of those that did not exist yet.
async fn insert_rows(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    credential_id: i64,
    batch: &[Prepared],
    seqs: &[i64],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let ids: Vec<Uuid> = batch.iter().map(|p| p.id).collect();
    let stored: Vec<DateTime<Utc>> = batch.iter().map(|p| p.stored).collect();
    let timestamps: Vec<DateTime<Utc>> = batch.iter().map(|p| p.timestamp).collect();
    let verbs: Vec<&str> = batch.iter().map(|p| p.verb.as_str()).collect();
    let registrations: Vec<Option<Uuid>> = batch.iter().map(|p| p.registration).collect();
    let refs: Vec<Option<Uuid>> = batch.iter().map(|p| p.statement_ref).collect();
    let targets: Vec<Option<Uuid>> = batch.iter().map(|p| p.voiding_target).collect();
    let bodies: Vec<String> = batch.iter().map(|p| p.statement.to_string()).collect();
    sqlx::query_as(
        r#"INSERT INTO statements
               (store_id, credential_id, seq, statement_id, stored, "timestamp", verb_iri,
                registration, statement_ref, voiding_target, statement)
           OVERRIDING SYSTEM VALUE
           SELECT $1, $2, u.seq, u.id, u.stored, u.ts, u.verb, u.registration, u.ref,
                  u.target, u.body::json
           FROM UNNEST($11::bigint[], $3::uuid[], $4::timestamptz[], $5::timestamptz[],
                       $6::text[], $7::uuid[], $8::uuid[], $9::uuid[], $10::text[])
                AS u(seq, id, stored, ts, verb, registration, ref, target, body)
           ON CONFLICT (store_id, statement_id) DO NOTHING
           RETURNING statement_id, seq"#,
    )
    .bind(store_id)
    .bind(credential_id)
    .bind(&ids)
    .bind(&stored)
    .bind(&timestamps)
    .bind(&verbs)
    .bind(&registrations)
    .bind(&refs)
    .bind(&targets)
    .bind(&bodies)
    .bind(seqs)
    .fetch_all(&mut **tx)
    .await
}

/// Statements that already existed must be equivalent to what was sent (Data §2.3.1.s9).
async fn check_existing(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    batch: &[Prepared],
    inserted: &[(Uuid, i64)],
) -> Result<(), InsertError> {
    let existing_ids: Vec<Uuid> = batch
        .iter()
        .map(|p| p.id)
        .filter(|id| !inserted.iter().any(|(i, _)| i == id))
        .collect();
    let existing: Vec<(Uuid, Value)> = sqlx::query_as(
        "SELECT statement_id, statement FROM statements
         WHERE store_id = $1 AND statement_id = ANY($2)",
    )
    .bind(store_id)
    .bind(&existing_ids)
    .fetch_all(&mut **tx)
    .await?;
    for p in batch.iter().filter(|p| existing_ids.contains(&p.id)) {
        let stored = existing
            .iter()
            .find(|(id, _)| *id == p.id)
            .map(|(_, s)| s)
            .ok_or_else(|| StoreError::Corrupt(format!("statement {} vanished", p.id)))?;
        if !equivalent(&p.statement, stored, p.client_timestamp) {
            return Err(InsertError::Conflict(p.id));
        }
    }
    Ok(())
}

async fn insert_links(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    new: &[(&Prepared, i64)],
) -> Result<(), sqlx::Error> {
    let (mut seqs, mut usages, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for (p, seq) in new {
        for (usage, key) in &p.agents {
            seqs.push(*seq);
            usages.push(*usage);
            keys.push(key.as_str());
        }
    }
    if !seqs.is_empty() {
        sqlx::query(
            "INSERT INTO statement_agents (store_id, seq, usage, ifi)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])",
        )
        .bind(store_id)
        .bind(&seqs)
        .bind(&usages)
        .bind(&keys)
        .execute(&mut **tx)
        .await?;
    }
    let (mut seqs, mut usages, mut iris) = (Vec::new(), Vec::new(), Vec::new());
    for (p, seq) in new {
        for (usage, iri) in &p.activities {
            seqs.push(*seq);
            usages.push(*usage);
            iris.push(iri.as_str());
        }
    }
    if !seqs.is_empty() {
        sqlx::query(
            "INSERT INTO statement_activities (store_id, seq, usage, activity_iri)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])",
        )
        .bind(store_id)
        .bind(&seqs)
        .bind(&usages)
        .bind(&iris)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Communication §2.1.4: a statement referring to another (StatementRef object) matches the
/// filters its target matches. The referring statement gets its target's verb, registration,
/// agents and activities (usage `target_*`) — when it is stored after its target, and when
/// its target arrives later.
async fn link_targets(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    new: &[(&Prepared, i64)],
) -> Result<(), sqlx::Error> {
    let referring: Vec<i64> = new
        .iter()
        .filter(|(p, _)| p.statement_ref.is_some())
        .map(|(_, seq)| *seq)
        .collect();
    let ids: Vec<Uuid> = new.iter().map(|(p, _)| p.id).collect();
    // Referring statements whose target is stored: the new referrers, and older referrers of
    // new statements. A pair stored in one batch is selected once.
    let pairs: Vec<(i64, i64, String, Option<Uuid>)> = sqlx::query_as(
        "SELECT r.seq, t.seq, t.verb_iri, t.registration
         FROM statements r
         JOIN statements t ON t.store_id = r.store_id AND t.statement_id = r.statement_ref
         WHERE r.store_id = $1 AND (r.seq = ANY($2) OR r.statement_ref = ANY($3))",
    )
    .bind(store_id)
    .bind(&referring)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    if pairs.is_empty() {
        return Ok(());
    }
    let r_seqs: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let t_seqs: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    let verbs: Vec<&str> = pairs.iter().map(|p| p.2.as_str()).collect();
    let registrations: Vec<Option<Uuid>> = pairs.iter().map(|p| p.3).collect();
    sqlx::query(
        "UPDATE statements r SET target_verb = p.verb, target_registration = p.registration
         FROM UNNEST($2::bigint[], $3::text[], $4::uuid[]) AS p(seq, verb, registration)
         WHERE r.store_id = $1 AND r.seq = p.seq",
    )
    .bind(store_id)
    .bind(&r_seqs)
    .bind(&verbs)
    .bind(&registrations)
    .execute(&mut **tx)
    .await?;
    // Table and column names are fixed identifiers from this list, never request input.
    for (table, column) in [
        ("statement_agents", "ifi"),
        ("statement_activities", "activity_iri"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} (store_id, seq, usage, {column})
             SELECT $1, p.r_seq, 'target_' || l.usage, l.{column}
             FROM UNNEST($2::bigint[], $3::bigint[]) AS p(r_seq, t_seq)
             JOIN {table} l ON l.store_id = $1 AND l.seq = p.t_seq
             WHERE l.usage NOT LIKE 'target\\_%'"
        ))
        .bind(store_id)
        .bind(&r_seqs)
        .bind(&t_seqs)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Data §2.3.2.s2.b3: a statement is voided iff it is not itself a voiding statement and a
/// voiding statement refers to it — whichever of the two arrived first.
async fn apply_voiding(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    new: &[(&Prepared, i64)],
) -> Result<(), sqlx::Error> {
    let targets: Vec<Uuid> = new.iter().filter_map(|(p, _)| p.voiding_target).collect();
    if !targets.is_empty() {
        sqlx::query(
            "UPDATE statements SET voided = true
             WHERE store_id = $1 AND statement_id = ANY($2)
               AND voiding_target IS NULL AND NOT voided",
        )
        .bind(store_id)
        .bind(&targets)
        .execute(&mut **tx)
        .await?;
    }
    // Statements of this batch that a void stored earlier targets: probed in the (small,
    // partial) voiding_target index by id, then updated by id. One UPDATE with a correlated
    // EXISTS did the same, but PostgreSQL's cached generic plan for it, made while the table
    // was small, scanned the table for every row of the batch: seconds per batch at 100,000
    // statements.
    let plain: Vec<Uuid> = new
        .iter()
        .filter(|(p, _)| p.voiding_target.is_none())
        .map(|(p, _)| p.id)
        .collect();
    if !plain.is_empty() {
        let voided: Vec<Uuid> = sqlx::query_scalar(
            "SELECT voiding_target FROM statements
             WHERE store_id = $1 AND voiding_target = ANY($2)",
        )
        .bind(store_id)
        .bind(&plain)
        .fetch_all(&mut **tx)
        .await?;
        if !voided.is_empty() {
            sqlx::query(
                "UPDATE statements SET voided = true
                 WHERE store_id = $1 AND statement_id = ANY($2) AND NOT voided",
            )
            .bind(store_id)
            .bind(&voided)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// One stored statement with what single-statement GETs need.
#[derive(Debug, Clone)]
pub struct StoredStatement {
    pub statement: Value,
    pub stored: DateTime<Utc>,
    pub voided: bool,
    pub credential_id: Option<i64>,
}

#[tracing::instrument(skip(pool))]
pub async fn find(
    pool: &PgPool,
    store_id: i64,
    id: Uuid,
) -> Result<Option<StoredStatement>, StoreError> {
    let row: Option<(Value, DateTime<Utc>, bool, Option<i64>)> = sqlx::query_as(
        "SELECT statement, stored, voided, credential_id FROM statements
         WHERE store_id = $1 AND statement_id = $2",
    )
    .bind(store_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(statement, stored, voided, credential_id)| StoredStatement {
            statement,
            stored,
            voided,
            credential_id,
        },
    ))
}
