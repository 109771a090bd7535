//! Statements: insert a batch in one transaction (binary `COPY` or bulk `UNNEST` inserts,
//! voiding, link rows), and read single statements.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::copy_in::CopyRows;
use super::definitions::{lesson_inserts, Known, Lesson, LessonColumns};
use super::write_order::WriteOrder;
use super::{each_key, each_key_in, StoreError};
use crate::xapi::attachments::Content;
use crate::xapi::equivalence::equivalent;
use crate::xapi::prepare::{links, Link, Prepared};

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

/// Statements per `INSERT`: a larger batch is inserted by several statements in its
/// transaction. Each pooled connection keeps a write buffer as large as the largest message
/// it has sent, and a batch of 1,000 statements binds about 3.5 MB: sixteen connections kept
/// 56 MB for as long as the server ran. At 250 rows a message stays near 1 MB, for one round
/// trip more per 250 statements.
const ROWS_PER_INSERT: usize = 250;

/// Who stores a batch.
pub struct Author {
    pub store_id: i64,
    pub credential_id: i64,
    /// Whether the credential may (re)define Activities and Agents (scope `define` or `all`).
    pub may_define: bool,
}

/// Stores a batch and the attachment content it declares atomically; returns the ids in
/// order. `writes` is the write path's pool ([`super::write_pool`]). `prepare` turns the
/// validated statements into rows once their `stored` time is assigned (see [`WriteOrder`]).
/// Statements whose id already exists with equivalent content are accepted without change; a
/// differing one fails the whole batch with [`InsertError::Conflict`].
///
/// Round trips matter more than anything else for small batches (each costs both processes a
/// wake-up and PostgreSQL a plan). A batch that refers to no statement and carries no
/// attachment, small enough for one `INSERT`, takes one: a single statement outside any
/// transaction ([`insert_alone`]). Any other batch, or one that [`insert_alone`] turned back,
/// takes at least four in a transaction ([`insert_in_transaction`]). What a batch teaches
/// (see [`Lesson`]) is written by the one statement, or by one more after the transaction;
/// merging changed definitions takes more. The `seq` reservation takes one per thousand
/// statements (see [`WriteOrder`]).
#[tracing::instrument(skip_all, fields(store_id = author.store_id))]
pub async fn insert_batch(
    writes: &PgPool,
    author: &Author,
    count: usize,
    contents: &[Content],
    order: &WriteOrder,
    known: &Known,
    prepare: impl FnOnce(DateTime<Utc>) -> Vec<Prepared> + Send + 'static,
) -> Result<Vec<Uuid>, InsertError> {
    // Read before this batch looks for its statements' referrers (resolve_late_targets).
    let referrers_without_target = order.referrers_without_target();
    let reservation = order.reserve(writes, count).await?;
    let _in_flight = reservation.in_flight;
    let stored = reservation.stored;
    // Preparing a large batch is milliseconds of CPU: off the async executor, whose other
    // requests would wait meanwhile.
    let prepared = if count > PREPARE_INLINE {
        tokio::task::spawn_blocking(move || prepare(stored))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    } else {
        prepare(stored)
    };
    if prepared.len() != reservation.seqs.len() {
        return Err(StoreError::Corrupt(format!(
            "{} statements prepared for {} reserved sequence numbers",
            prepared.len(),
            reservation.seqs.len()
        ))
        .into());
    }
    let batch = &prepared[..];
    let seqs = &reservation.seqs;
    let fits_one_statement = batch.len() < COPY_FROM
        && batch.len() <= ROWS_PER_INSERT
        && contents.is_empty()
        && batch.iter().all(|p| p.statement_ref.is_none());
    let mut stored_alone = false;
    if fits_one_statement {
        let lesson = author
            .may_define
            .then(|| Lesson::of(author.store_id, known, batch.iter()));
        if let Some(created) = insert_alone(writes, author, batch, seqs, lesson.as_ref()).await? {
            if let Some(lesson) = lesson {
                if let Err(e) = lesson.learned(writes, known, created).await {
                    tracing::warn!(error = %e, "statements stored; merging their definitions failed");
                }
            }
            stored_alone = true;
        }
    }
    let (new_ids, without_target) = if stored_alone {
        (batch.iter().map(|p| p.id).collect(), Vec::new())
    } else {
        let (new, without_target) =
            insert_in_transaction(writes, author, batch, seqs, contents).await?;
        // Activity definitions and agent names are learned once the statements are stored, in
        // statements of their own. Inside the statements' transaction, concurrent batches
        // that introduced the same new activity or agent waited on each other's unique-index
        // insert until the other's whole batch committed, which serialized ingest. If this
        // step fails the statements stay stored; the next statement naming the activity or
        // agent teaches it again.
        if author.may_define {
            if let Err(e) = super::definitions::learn(writes, author.store_id, known, &new).await {
                tracing::warn!(error = %e, "statements stored; learning their definitions failed");
            }
        }
        let ids: Vec<Uuid> = new.iter().map(|(p, _)| p.id).collect();
        (ids, without_target)
    };
    let late = resolve_late_targets(
        writes,
        author.store_id,
        order,
        referrers_without_target,
        &new_ids,
        without_target,
    );
    if let Err(e) = late.await {
        tracing::warn!(error = %e, "statements stored; resolving late StatementRef targets failed");
    }
    Ok(done(count, prepared))
}

/// The ids of a stored batch, in order.
fn done(count: usize, prepared: Vec<Prepared>) -> Vec<Uuid> {
    let ids = prepared.iter().map(|p| p.id).collect();
    if count > PREPARE_INLINE {
        // Freeing a large batch's parsed statements is milliseconds of CPU as well.
        tokio::task::spawn_blocking(move || drop(prepared));
    }
    ids
}

/// Writes a batch that refers to no statement and carries no attachment (no StatementRef
/// object, so no voiding either) with its link rows, and what it teaches (`lesson`), in one
/// statement outside any transaction, which PostgreSQL commits as it ends: one round trip
/// where a transaction takes four (`BEGIN`, the insert, the probe for statements referring
/// to the new ones, `COMMIT`), and one commit where learning took another. Returns the
/// Activities the lesson created (see [`Lesson`]).
///
/// Returns `None`, having written nothing, when a stored statement refers to one of the
/// batch's (a StatementRef that arrived before its target): its target fields and voiding are
/// written by [`insert_in_transaction`]. The probe reads the statement's snapshot, taken just
/// before its insert, where the transaction's probe ran just after its own; a StatementRef
/// and its target written at the same moment, each committed after the other looked, are
/// joined after both commits ([`resolve_late_targets`]). An id stored already makes the
/// statement fail with a unique violation, having written nothing: the batch then goes to
/// [`insert_in_transaction`] as well, which compares it with what is stored (there is no
/// `ON CONFLICT` on `statements` here, so that a batch is written whole or not at all). So
/// does a batch with anything else PostgreSQL refuses: a lesson it cannot write (a name too
/// long for its index, say) must not cost the statements, and [`insert_in_transaction`]
/// learns apart from storing them.
async fn insert_alone(
    writes: &PgPool,
    author: &Author,
    batch: &[Prepared],
    seqs: &[i64],
    lesson: Option<&Lesson<'_>>,
) -> Result<Option<Vec<String>>, InsertError> {
    let columns = lesson.map(Lesson::columns).unwrap_or_default();
    let written = insert_rows(writes, author, batch, seqs, Insert::Alone(&columns)).await;
    match written {
        Ok(rows) if rows.len() == batch.len() => Ok(Some(
            rows.into_iter().next().map(|r| r.2).unwrap_or_default(),
        )),
        Ok(rows) if rows.is_empty() => Ok(None),
        Ok(rows) => Err(StoreError::Corrupt(format!(
            "{} of a batch of {} statements written",
            rows.len(),
            batch.len()
        ))
        .into()),
        Err(e) if e.as_database_error().is_some() => {
            tracing::debug!(error = %e, "written in a transaction instead");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Stores a batch in one transaction: its rows (binary `COPY` from [`COPY_FROM`] statements
/// on, else `INSERT`), the equivalence check of ids stored already, StatementRef targets,
/// voiding and attachment content. Returns the statements that were new, with their `seq`,
/// and those of them whose StatementRef target was not stored.
async fn insert_in_transaction<'b>(
    writes: &PgPool,
    author: &Author,
    batch: &'b [Prepared],
    seqs: &[i64],
    contents: &[Content],
) -> Result<(Vec<(&'b Prepared, i64)>, Vec<Referrer>), InsertError> {
    let store_id = author.store_id;
    let mut tx = writes.begin().await?;
    let inserted = if batch.len() >= COPY_FROM {
        match copy_rows(&mut tx, author, batch, seqs).await {
            Ok(()) => batch
                .iter()
                .map(|p| p.id)
                .zip(seqs.iter().copied())
                .collect(),
            // An id that exists already (a batch sent again, or two batches sharing an id)
            // aborts the COPY and its transaction: the batch is written again row by row,
            // which accepts equivalent statements and finds conflicting ones.
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                tx.rollback().await?;
                tx = writes.begin().await?;
                insert_all_rows(&mut tx, author, batch, seqs).await?
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        insert_all_rows(&mut tx, author, batch, seqs).await?
    };
    if inserted.len() < batch.len() {
        check_existing(&mut tx, store_id, batch, &inserted).await?;
    }
    let seq_of: HashMap<Uuid, i64> = inserted.into_iter().collect();
    let new: Vec<(&Prepared, i64)> = batch
        .iter()
        .filter_map(|p| seq_of.get(&p.id).map(|seq| (p, *seq)))
        .collect();
    let new_ids: Vec<Uuid> = new.iter().map(|(p, _)| p.id).collect();
    let referrers = referrers_of(&mut tx, store_id, &new_ids, false).await?;
    let without_target = link_targets(&mut tx, store_id, &new, &referrers).await?;
    apply_voiding(&mut tx, store_id, &new, &referrers).await?;
    super::attachments::insert(&mut tx, store_id, contents).await?;
    tx.commit().await?;
    Ok((new, without_target))
}

/// Batches of at least this many statements are written with binary `COPY`.
///
/// For a batch of 1,000, PostgreSQL spent 78–106 ms of CPU per 1,000 statements on the
/// `INSERT … SELECT FROM UNNEST … ON CONFLICT` path (one statement per [`ROWS_PER_INSERT`]),
/// against 60–70 ms for a `COPY` of the same rows (README, *Ingest*). `COPY` has no
/// `ON CONFLICT`: a statement id that exists already makes it fail, and the batch is then
/// written by the `INSERT` path. Measured with the ingest benchmark, batch 1,000 × 4 clients:
/// 10 % less CPU (server and PostgreSQL) and 14 % more statements/s; batch 100 × 4: alike
/// (README, *Batches written with `COPY`*). Smaller batches stay with `INSERT`: one statement
/// instead of three `COPY`s of two round trips each.
const COPY_FROM: usize = 100;

/// Bytes per `CopyData` message: a pooled connection keeps a write buffer as large as the
/// largest message it sent (see [`ROWS_PER_INSERT`]).
const COPY_CHUNK: usize = 256 * 1024;

/// Writes every statement of the batch and its link rows with three binary `COPY`s (all
/// of them new, or the first `COPY` fails with a unique violation on `statement_id`).
async fn copy_rows(
    tx: &mut Transaction<'_, Postgres>,
    author: &Author,
    batch: &[Prepared],
    seqs: &[i64],
) -> Result<(), sqlx::Error> {
    let store = author.store_id;
    let rows = batch.iter().zip(seqs.iter().copied());
    copy_in(
        tx,
        r#"COPY statements (store_id, credential_id, seq, statement_id, stored, "timestamp",
               verb_iri, registration, statement_ref, voiding_target, statement)
           FROM STDIN (FORMAT binary)"#,
        rows.clone(),
        |out, (p, seq)| {
            out.row(11)
                .int8(store)
                .int8(author.credential_id)
                .int8(seq)
                .uuid(p.id)
                .timestamptz(p.stored)
                .timestamptz(p.timestamp)
                .text(&p.verb)
                .opt_uuid(p.registration)
                .opt_uuid(p.statement_ref)
                .opt_uuid(p.voiding_target)
                .text(&p.text);
        },
    )
    .await?;
    for (sql, links) in [
        (
            "COPY statement_agents (store_id, seq, usage, ifi) FROM STDIN (FORMAT binary)",
            (|p| &p.agents) as fn(&Prepared) -> &Vec<(&'static str, String)>,
        ),
        (
            "COPY statement_activities (store_id, seq, usage, activity_iri)
             FROM STDIN (FORMAT binary)",
            |p| &p.activities,
        ),
    ] {
        if batch.iter().all(|p| links(p).is_empty()) {
            continue;
        }
        let link_rows = rows
            .clone()
            .flat_map(|(p, seq)| links(p).iter().map(move |(usage, key)| (seq, usage, key)));
        copy_in(tx, sql, link_rows, |out, (seq, usage, key)| {
            out.row(4).int8(store).int8(seq).text(usage).text(key);
        })
        .await?;
    }
    Ok(())
}

/// One `COPY … FROM STDIN (FORMAT binary)` of `items`, each written as a tuple by `write`,
/// sent [`COPY_CHUNK`] bytes at a time.
async fn copy_in<T>(
    tx: &mut Transaction<'_, Postgres>,
    sql: &str,
    items: impl Iterator<Item = T>,
    mut write: impl FnMut(&mut CopyRows, T),
) -> Result<(), sqlx::Error> {
    let mut out = CopyRows::new();
    let mut copy = tx.copy_in_raw(sql).await?;
    for item in items {
        write(&mut out, item);
        if out.bytes().len() >= COPY_CHUNK {
            copy.send(out.bytes()).await?;
            out.clear();
        }
    }
    out.finish();
    copy.send(out.bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Inserts the rows [`ROWS_PER_INSERT`] at a time; returns (id, seq) of the new ones.
async fn insert_all_rows(
    tx: &mut Transaction<'_, Postgres>,
    author: &Author,
    batch: &[Prepared],
    seqs: &[i64],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let mut inserted = Vec::with_capacity(batch.len());
    for (rows, seqs) in batch
        .chunks(ROWS_PER_INSERT)
        .zip(seqs.chunks(ROWS_PER_INSERT))
    {
        let rows = insert_rows(&mut **tx, author, rows, seqs, Insert::Skipping).await?;
        inserted.extend(rows.into_iter().map(|(id, seq, _)| (id, seq)));
    }
    Ok(inserted)
}

/// What [`insert_rows`] does with a row whose id is stored already.
#[derive(Clone, Copy)]
enum Insert<'l> {
    /// Skips it (`ON CONFLICT DO NOTHING`), in a transaction that then compares it with what
    /// is stored.
    Skipping,
    /// Fails with a unique violation, writes nothing at all when a stored statement refers to
    /// one of the batch's, and writes the lesson with the rows ([`insert_alone`]).
    Alone(&'l LessonColumns<'l>),
}

impl Insert<'_> {
    /// The statement writing a batch's rows and, for those that did not exist yet, their link
    /// rows; it returns the new rows' (id, seq) and, for [`Insert::Alone`], the Activities its
    /// lesson created. Link rows are joined to the rows actually inserted, so an id that
    /// existed already gets none (its own were stored with it).
    fn sql(self) -> &'static str {
        fn sql(guard: &str, on_conflict: &str, lesson: &str, created: &str) -> String {
            format!(
                r#"WITH new AS (
                       INSERT INTO statements
                           (store_id, credential_id, seq, statement_id, stored, "timestamp",
                            verb_iri, registration, statement_ref, voiding_target, statement)
                       OVERRIDING SYSTEM VALUE
                       SELECT $1, $2, u.seq, u.id, u.stored, u.ts, u.verb, u.registration,
                              u.ref, u.target, u.body
                       FROM UNNEST($11::bigint[], $3::uuid[], $4::timestamptz[],
                                   $5::timestamptz[], $6::text[], $7::uuid[], $8::uuid[],
                                   $9::uuid[], $10::text[])
                            AS u(seq, id, stored, ts, verb, registration, ref, target, body)
                       {guard}
                       {on_conflict}
                       RETURNING statement_id, seq
                   ),
                   agents AS (
                       INSERT INTO statement_agents (store_id, seq, usage, ifi)
                       SELECT $1, new.seq, l.usage, l.key
                       FROM UNNEST($12::int[], $13::text[], $14::text[]) AS l(i, usage, key)
                       JOIN new ON new.statement_id = ($3::uuid[])[l.i]
                   ),
                   activities AS (
                       INSERT INTO statement_activities (store_id, seq, usage, activity_iri)
                       SELECT $1, new.seq, l.usage, l.key
                       FROM UNNEST($15::int[], $16::text[], $17::text[]) AS l(i, usage, key)
                       JOIN new ON new.statement_id = ($3::uuid[])[l.i]
                   ){lesson}
                   SELECT statement_id, seq, {created} FROM new"#
            )
        }
        static SKIPPING: LazyLock<String> = LazyLock::new(|| {
            sql(
                "",
                "ON CONFLICT (store_id, statement_id) DO NOTHING",
                "",
                "ARRAY[]::text[]",
            )
        });
        // The probe of `referrers_of`, one index probe per id; the lesson's inserts, for rows
        // that were written.
        static ALONE: LazyLock<String> = LazyLock::new(|| {
            let referred = each_key_in("$3", "1", "statements", "uuid", "statement_ref = k.key");
            let (names, activities) = lesson_inserts(18, "WHERE EXISTS (SELECT FROM new)");
            sql(
                &format!("WHERE NOT EXISTS ({referred})"),
                "",
                &format!(", {names}, learned AS ({activities})"),
                "ARRAY(SELECT activity_iri FROM learned)",
            )
        });
        match self {
            Insert::Skipping => &SKIPPING,
            Insert::Alone(_) => &ALONE,
        }
    }
}

/// Inserts the rows and their link rows in one statement (see [`Insert`]); returns (id, seq)
/// of the new ones and the Activities created with them.
async fn insert_rows<'c>(
    db: impl sqlx::Executor<'c, Database = Postgres>,
    author: &Author,
    batch: &[Prepared],
    seqs: &[i64],
    insert: Insert<'_>,
) -> Result<Vec<(Uuid, i64, Vec<String>)>, sqlx::Error> {
    let ids: Vec<Uuid> = batch.iter().map(|p| p.id).collect();
    let stored: Vec<DateTime<Utc>> = batch.iter().map(|p| p.stored).collect();
    let timestamps: Vec<DateTime<Utc>> = batch.iter().map(|p| p.timestamp).collect();
    let verbs: Vec<&str> = batch.iter().map(|p| p.verb.as_str()).collect();
    let registrations: Vec<Option<Uuid>> = batch.iter().map(|p| p.registration).collect();
    let refs: Vec<Option<Uuid>> = batch.iter().map(|p| p.statement_ref).collect();
    let targets: Vec<Option<Uuid>> = batch.iter().map(|p| p.voiding_target).collect();
    let bodies: Vec<&str> = batch.iter().map(|p| p.text.as_str()).collect();
    let agents = LinkColumns::of(batch, |p| &p.agents);
    let activities = LinkColumns::of(batch, |p| &p.activities);
    let query = sqlx::query_as(insert.sql())
        .bind(author.store_id)
        .bind(author.credential_id)
        .bind(&ids)
        .bind(&stored)
        .bind(&timestamps)
        .bind(&verbs)
        .bind(&registrations)
        .bind(&refs)
        .bind(&targets)
        .bind(&bodies)
        .bind(seqs)
        .bind(&agents.statement)
        .bind(&agents.usage)
        .bind(&agents.key)
        .bind(&activities.statement)
        .bind(&activities.usage)
        .bind(&activities.key);
    let query = match insert {
        Insert::Skipping => query,
        Insert::Alone(lesson) => query
            .bind(&lesson.ifis)
            .bind(&lesson.names)
            .bind(&lesson.activity_iris)
            .bind(&lesson.definitions),
    };
    query.fetch_all(db).await
}

/// A batch's link rows as parallel arrays; `statement` is the 1-based position of the
/// statement in the batch (a PostgreSQL array subscript).
struct LinkColumns<'a> {
    statement: Vec<i32>,
    usage: Vec<&'a str>,
    key: Vec<&'a str>,
}

impl<'a> LinkColumns<'a> {
    fn of(
        batch: &'a [Prepared],
        links: impl Fn(&'a Prepared) -> &'a Vec<(&'static str, String)>,
    ) -> Self {
        let mut columns = LinkColumns {
            statement: Vec::new(),
            usage: Vec::new(),
            key: Vec::new(),
        };
        for (i, p) in batch.iter().enumerate() {
            for (usage, key) in links(p) {
                columns.statement.push(i as i32 + 1);
                columns.usage.push(usage);
                columns.key.push(key);
            }
        }
        columns
    }
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
    let existing: Vec<(Uuid, String)> = sqlx::query_as(&each_key(
        "statement_id, statement",
        "statements",
        "uuid",
        "statement_id = k.key",
    ))
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
        if !equivalent(&p.statement, &parse_stored(stored)?, p.client_timestamp) {
            return Err(InsertError::Conflict(p.id));
        }
    }
    Ok(())
}

/// A statement whose object is a StatementRef: its `seq` and its target's id.
struct Referrer {
    seq: i64,
    target: Uuid,
    /// Whether it is a voiding statement.
    voids: bool,
}

/// Stored statements (earlier ones and the batch's own) that refer to the statements `ids`
/// (all of them, or only those still `without_target` fields): one probe of the
/// `statement_ref` index, which both the voiding rule and the StatementRef filters need.
async fn referrers_of(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    ids: &[Uuid],
    without_target: bool,
) -> Result<Vec<Referrer>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let condition = if without_target {
        "statement_ref = k.key AND target_verb IS NULL"
    } else {
        "statement_ref = k.key"
    };
    let rows: Vec<(i64, Uuid, bool)> = sqlx::query_as(&each_key(
        "seq, statement_ref, voiding_target IS NOT NULL",
        "statements",
        "uuid",
        condition,
    ))
    .bind(store_id)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, target, voids)| Referrer { seq, target, voids })
        .collect())
}

/// Communication §2.1.4: a statement referring to another (StatementRef object) matches the
/// filters its target matches. The referring statement gets its target's verb, registration,
/// agents and activities (usage `target_*`) — when it is stored after its target, and when
/// its target arrives later. Returns the new statements whose target is not stored (yet).
async fn link_targets(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    new: &[(&Prepared, i64)],
    referrers: &[Referrer],
) -> Result<Vec<Referrer>, StoreError> {
    // (referrer seq, target seq) → what the target matches by, each pair once.
    let mut pairs: BTreeMap<(i64, i64), Target> = Default::default();
    // Statements referring to new ones: the target is in this batch. `referrers` holds the
    // referring statements of this batch too, which are written by now.
    let by_id: HashMap<Uuid, (&Prepared, i64)> =
        new.iter().map(|(p, s)| (p.id, (*p, *s))).collect();
    for r in referrers {
        if let Some((t, t_seq)) = by_id.get(&r.target) {
            pairs.insert((r.seq, *t_seq), Target::prepared(t));
        }
    }
    // New statements referring to statements stored before this batch.
    let referring: Vec<Referrer> = new
        .iter()
        .filter_map(|(p, seq)| {
            p.statement_ref.map(|target| Referrer {
                seq: *seq,
                target,
                voids: p.voiding_target.is_some(),
            })
        })
        .filter(|r| !by_id.contains_key(&r.target))
        .collect();
    let stored_ids: Vec<Uuid> = referring.iter().map(|r| r.target).collect();
    let stored = stored_targets(tx, store_id, &stored_ids).await?;
    let mut without_target = Vec::new();
    for r in referring {
        match stored.get(&r.target) {
            Some((t_seq, t)) => {
                pairs.insert((r.seq, *t_seq), t.clone());
            }
            None => without_target.push(r),
        }
    }
    write_target_fields(tx, store_id, &pairs).await?;
    Ok(without_target)
}

/// The stored statements among `ids`: their `seq` and what they give a statement referring
/// to them.
async fn stored_targets(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (i64, Target)>, StoreError> {
    let mut stored = HashMap::new();
    if ids.is_empty() {
        return Ok(stored);
    }
    let rows = sqlx::query_as::<_, (Uuid, i64, String, Option<Uuid>, String)>(&each_key(
        "statement_id, seq, verb_iri, registration, statement",
        "statements",
        "uuid",
        "statement_id = k.key",
    ))
    .bind(store_id)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    for (id, seq, verb, registration, text) in rows {
        let statement = parse_stored(&text)?;
        let o = statement
            .as_object()
            .ok_or_else(|| StoreError::Corrupt(format!("statement {id} is not an object")))?;
        let (agents, activities) = links(o);
        let target = Target {
            verb,
            registration,
            agents,
            activities,
        };
        stored.insert(id, (seq, target));
    }
    Ok(stored)
}

/// Gives each referring statement of `pairs` ((referrer seq, target seq) → target) its
/// target's verb, registration and link rows, once: a referrer that has them already (its
/// `target_verb` is set) is left as it is, so that writing them again adds no link rows.
async fn write_target_fields(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    pairs: &BTreeMap<(i64, i64), Target>,
) -> Result<(), StoreError> {
    if pairs.is_empty() {
        return Ok(());
    }
    // The UPDATE joins `statements` to an array: planned with its parameters (`write_pool`).
    super::plan_each_execution(tx).await?;
    let r_seqs: Vec<i64> = pairs.keys().map(|k| k.0).collect();
    let verbs: Vec<&str> = pairs.values().map(|t| t.verb.as_str()).collect();
    let registrations: Vec<Option<Uuid>> = pairs.values().map(|t| t.registration).collect();
    let updated: Vec<i64> = sqlx::query_scalar(
        "UPDATE statements r SET target_verb = p.verb, target_registration = p.registration
         FROM UNNEST($2::bigint[], $3::text[], $4::uuid[]) AS p(seq, verb, registration)
         WHERE r.store_id = $1 AND r.seq = p.seq AND r.target_verb IS NULL
         RETURNING r.seq",
    )
    .bind(store_id)
    .bind(&r_seqs)
    .bind(&verbs)
    .bind(&registrations)
    .fetch_all(&mut **tx)
    .await?;
    let updated: HashSet<i64> = updated.into_iter().collect();
    // The target's own links (not those it has through a target of its own), computed from
    // the statement: the link tables' `seq` indexes hold only the rows the warehouse reads
    // (migration 20261129140000), so a target's rows cannot be found by its `seq`.
    // Table and column names are fixed identifiers from this list, never request input.
    for (table, column, links_of) in [
        (
            "statement_agents",
            "ifi",
            (|t| &t.agents) as fn(&Target) -> &Vec<Link>,
        ),
        ("statement_activities", "activity_iri", |t| &t.activities),
    ] {
        let mut seqs = Vec::new();
        let mut usages = Vec::new();
        let mut values = Vec::new();
        for ((r_seq, _), target) in pairs {
            if !updated.contains(r_seq) {
                continue;
            }
            for (usage, value) in links_of(target) {
                seqs.push(*r_seq);
                usages.push(format!("target_{usage}"));
                values.push(value.as_str());
            }
        }
        if seqs.is_empty() {
            continue;
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (store_id, seq, usage, {column})
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])"
        ))
        .bind(store_id)
        .bind(&seqs)
        .bind(&usages)
        .bind(&values)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Communication §2.1.4 and Data §2.3.2.s2.b3 across concurrent batches. A StatementRef and
/// its target written by two batches at the same moment can each look for the other before
/// the other commits (under READ COMMITTED neither sees the other's rows): the referrer would
/// then never get its target's properties, nor a voided target its `voided` flag. So, after
/// its commit:
/// - a batch with statements whose target it did not find (`without_target`) counts itself in
///   `order`, then looks for those targets again;
/// - a batch during which that count moved (`count_before` was read before the batch looked
///   for referrers) looks again for referrers of its new statements (`new_ids`) that have no
///   target fields.
///
/// Of two batches that missed each other, the one that looks last finds the other committed:
/// if the referrer's batch counted itself before the target's batch read the count after its
/// commit, the target's batch looks again; otherwise the referrer's batch looks after the
/// target's commit. Resolving twice is harmless (see [`write_target_fields`]). This covers
/// the batches of one process, as [`WriteOrder`] does.
async fn resolve_late_targets(
    writes: &PgPool,
    store_id: i64,
    order: &WriteOrder,
    count_before: u64,
    new_ids: &[Uuid],
    without_target: Vec<Referrer>,
) -> Result<(), StoreError> {
    let mut referrers = without_target;
    if !referrers.is_empty() {
        order.committed_referrers_without_target();
    }
    if order.referrers_without_target() == count_before {
        return Ok(());
    }
    let mut tx = writes.begin().await?;
    referrers.extend(referrers_of(&mut tx, store_id, new_ids, true).await?);
    if referrers.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = referrers.iter().map(|r| r.target).collect();
    let stored = stored_targets(&mut tx, store_id, &ids).await?;
    let mut pairs: BTreeMap<(i64, i64), Target> = Default::default();
    let mut voided = Vec::new();
    for r in &referrers {
        if let Some((t_seq, t)) = stored.get(&r.target) {
            pairs.insert((r.seq, *t_seq), t.clone());
            if r.voids {
                voided.push(r.target);
            }
        }
    }
    write_target_fields(&mut tx, store_id, &pairs).await?;
    void_targets(&mut tx, store_id, voided).await?;
    tx.commit().await?;
    Ok(())
}

/// What a StatementRef's target gives the statement referring to it (Communication §2.1.4).
#[derive(Clone)]
struct Target {
    verb: String,
    registration: Option<Uuid>,
    agents: Vec<Link>,
    activities: Vec<Link>,
}

impl Target {
    fn prepared(p: &Prepared) -> Target {
        Target {
            verb: p.verb.clone(),
            registration: p.registration,
            agents: p.agents.clone(),
            activities: p.activities.clone(),
        }
    }
}

/// Data §2.3.2.s2.b3: a statement is voided iff it is not itself a voiding statement and a
/// voiding statement refers to it — whichever of the two arrived first. The targets are
/// those of the batch's voiding statements and the new statements that a stored voiding
/// statement refers to; one UPDATE by id marks them.
async fn apply_voiding(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    new: &[(&Prepared, i64)],
    referrers: &[Referrer],
) -> Result<(), sqlx::Error> {
    let mut targets: Vec<Uuid> = new.iter().filter_map(|(p, _)| p.voiding_target).collect();
    targets.extend(referrers.iter().filter(|r| r.voids).map(|r| r.target));
    void_targets(tx, store_id, targets).await
}

/// Marks the stored statements among `targets` voided, but never a voiding statement
/// (Data §2.3.2.s2.b3); one UPDATE by id.
async fn void_targets(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    mut targets: Vec<Uuid>,
) -> Result<(), sqlx::Error> {
    if targets.is_empty() {
        return Ok(());
    }
    targets.sort_unstable();
    targets.dedup();
    // `seq = ANY(…)`'s generic plan reads the whole store (`write_pool`).
    super::plan_each_execution(tx).await?;
    sqlx::query(&format!(
        "UPDATE statements SET voided = true WHERE store_id = $1 AND seq = ANY(ARRAY({}))",
        each_key(
            "seq",
            "statements",
            "uuid",
            "statement_id = k.key AND voiding_target IS NULL AND NOT voided"
        )
    ))
    .bind(store_id)
    .bind(&targets)
    .execute(&mut **tx)
    .await?;
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
    let row: Option<(String, DateTime<Utc>, bool, Option<i64>)> = sqlx::query_as(
        "SELECT statement, stored, voided, credential_id FROM statements
         WHERE store_id = $1 AND statement_id = $2",
    )
    .bind(store_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|(statement, stored, voided, credential_id)| {
        Ok(StoredStatement {
            statement: parse_stored(&statement)?,
            stored,
            voided,
            credential_id,
        })
    })
    .transpose()
}

/// A stored statement body (`statements.statement`, text since migration 20261129130000),
/// which Cairn wrote with `xapi::json_text`.
pub(crate) fn parse_stored(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("a stored statement is not JSON: {e}")))
}
