//! What statements teach the LRS about Activities and Agents: canonical Activity definitions
//! (Communication §2.5) and Agent names (Communication §2.4), learned right after the
//! statements are stored (see `statements::insert_batch`) and read by the
//! Activities and Agents Resources.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use serde_json::{Map, Value};
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreError;
use crate::xapi::definitions;
use crate::xapi::prepare::Prepared;

/// What this process knows the store holds already: for each Activity it has written, a
/// digest of its canonical definition and the digests of the definitions known to change
/// nothing in it, and the (IFI, name) pairs of Agents. Statements mostly
/// repeat what is known (every statement of a course names the same activities and learners),
/// so a batch that teaches nothing new has an empty [`Lesson`] and writes nothing to them.
///
/// Only statements change these tables, and only through [`Lesson`]s; like the write order,
/// this holds for one Cairn process per database. Two batches of this process that change
/// the same definition at the same moment can leave the older of the two merges here; a later
/// statement that repeats what it holds is then not merged again (the stored definition keeps
/// the other batch's change) until the sets start again.
#[derive(Default)]
pub struct Known {
    inner: std::sync::Mutex<KnownSets>,
}

#[derive(Default)]
struct KnownSets {
    activities: HashMap<(i64, String), KnownActivity>,
    names: HashSet<(i64, String, String)>,
}

/// Digests, not definitions: kept as `serde_json` maps, the definitions were the largest
/// part of the server's heap in the ingest benchmark (README, Memory).
struct KnownActivity {
    canonical: Digest,
    /// Definitions that merge into `canonical` without changing it. Merging is idempotent
    /// (newer wins per key), so every definition merged into the canonical one is one of
    /// them until another definition changes it.
    no_ops: Vec<Digest>,
}

/// The first 16 bytes of the SHA-256 of a definition's JSON (keys in order).
type Digest = [u8; 16];

/// No-op definitions remembered per Activity (one that varies with every statement would
/// otherwise grow without bound).
const NO_OPS_PER_ACTIVITY: usize = 8;

fn digest(definition: &Map<String, Value>) -> Digest {
    use sha2::Digest as _;
    let mut json = Vec::with_capacity(256);
    crate::xapi::json_text::write_object(definition, &mut json);
    let hash = sha2::Sha256::digest(&json);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash[..16]);
    out
}

/// Past this many entries the sets start again empty (bounded memory; the cost is one
/// round of lookups).
const KNOWN_LIMIT: usize = 100_000;

impl Known {
    fn sets(&self) -> std::sync::MutexGuard<'_, KnownSets> {
        self.inner.lock().expect("known definitions lock")
    }
}

/// Called once per stored batch with the statements that were new, for credentials that may
/// (re)define Activities and Actors (`define`, or `all` which includes it): without that
/// scope the LRS "SHOULD NOT update its internal representation of any Actors or Activities"
/// (1.0.3 Communication §4.2 scope `define`). Writes what the batch teaches that `known` does
/// not hold yet, on the write path's pool `writes` ([`super::write_pool`]).
pub async fn learn(
    writes: &PgPool,
    store_id: i64,
    known: &Known,
    new: &[(&Prepared, i64)],
) -> Result<(), sqlx::Error> {
    let lesson = Lesson::of(store_id, known, new.iter().map(|(p, _)| *p));
    if lesson.is_empty() {
        return Ok(());
    }
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let (names, activities) = lesson_inserts(2, "");
        format!("WITH {names} {activities}")
    });
    let columns = lesson.columns();
    let created: Vec<String> = sqlx::query_scalar(&SQL)
        .bind(store_id)
        .bind(&columns.ifis)
        .bind(&columns.names)
        .bind(&columns.activity_iris)
        .bind(&columns.definitions)
        .fetch_all(writes)
        .await?;
    lesson.learned(writes, known, created).await
}

/// A lesson's two inserts, binding its [`LessonColumns`] from parameter `$first` on (the store
/// is `$1`), each writing only where `condition` holds: the CTE `names`, and the insert into
/// `activities` that returns the Activities it created.
pub(super) fn lesson_inserts(first: usize, condition: &str) -> (String, String) {
    let (ifis, names, iris, definitions) = (first, first + 1, first + 2, first + 3);
    (
        format!(
            "names AS (
                 INSERT INTO agent_names (store_id, ifi, name)
                 SELECT $1, * FROM UNNEST(${ifis}::text[], ${names}::text[]) {condition}
                 ON CONFLICT DO NOTHING
             )"
        ),
        format!(
            "INSERT INTO activities (store_id, activity_iri, definition)
             SELECT $1, u.id, u.def::jsonb
             FROM UNNEST(${iris}::text[], ${definitions}::text[]) AS u(id, def) {condition}
             ON CONFLICT DO NOTHING RETURNING activity_iri"
        ),
    )
}

/// What statements teach that [`Known`] does not hold yet: Agent names, and Activity
/// definitions (each the merge of the batch's definitions of it), both sorted by key.
///
/// They are written by one statement outside any transaction (it commits as it ends): the
/// names, and the Activities not stored yet, whose canonical definition is the one they
/// arrived with. That statement is either [`learn`]'s or the one that writes the statements
/// themselves (`statements::insert_batch`). Rows are written in key order, and every such
/// statement writes `activities` before `agent_names` (one plan each, with `activities` the
/// main query's or one it reads, and `agent_names` a sub-statement no one reads, run after
/// it), so concurrent writes lock rows in one order and cannot deadlock (STYLE habit 6).
/// [`Lesson::learned`] then merges the definitions of stored Activities.
pub struct Lesson<'a> {
    store_id: i64,
    names: Vec<(String, String)>,
    activities: Vec<(String, Map<String, Value>)>,
    /// Digest of each Activity's definition in the lesson.
    digests: HashMap<&'a str, Digest>,
}

/// A [`Lesson`] as the parallel arrays its statement binds.
#[derive(Default)]
pub struct LessonColumns<'l> {
    pub ifis: Vec<&'l str>,
    pub names: Vec<&'l str>,
    pub activity_iris: Vec<&'l str>,
    /// The definitions as JSON text.
    pub definitions: Vec<String>,
}

impl<'a> Lesson<'a> {
    /// What `statements` (about to be stored, or just stored) teach that `known` does not
    /// hold yet.
    pub fn of(
        store_id: i64,
        known: &Known,
        statements: impl Iterator<Item = &'a Prepared>,
    ) -> Self {
        // Keyed (and so sorted) by activity id. The definitions stay borrowed from the
        // statements unless two differ (cloning each one cost more than the rest of this
        // step; callgrind).
        let mut by_id: BTreeMap<&str, Cow<'_, Map<String, Value>>> = BTreeMap::new();
        // Deduplicated: a batch names the same learners over and over.
        let mut names: BTreeSet<(String, &str)> = BTreeSet::new();
        for p in statements {
            for (id, def) in definitions::activities(&p.statement) {
                match by_id.entry(id) {
                    Entry::Vacant(e) => {
                        e.insert(Cow::Borrowed(def));
                    }
                    Entry::Occupied(mut e) if **e.get() != *def => {
                        definitions::merge_definition(e.get_mut().to_mut(), def)
                    }
                    Entry::Occupied(_) => {}
                }
            }
            names.extend(definitions::agent_names(&p.statement));
        }
        let mut digests: HashMap<&str, Digest> = HashMap::new();
        let names: Vec<(String, String)> = {
            let sets = known.sets();
            by_id.retain(|id, def| {
                let d = digest(def);
                let no_op = sets
                    .activities
                    .get(&(store_id, id.to_string()))
                    .is_some_and(|k| k.no_ops.contains(&d));
                if !no_op {
                    digests.insert(id, d);
                }
                !no_op
            });
            names
                .into_iter()
                .filter(|(ifi, name)| {
                    !sets
                        .names
                        .contains(&(store_id, ifi.clone(), name.to_string()))
                })
                .map(|(ifi, name)| (ifi, name.to_string()))
                .collect()
        };
        // Both come out of ordered collections, sorted by key.
        let activities: Vec<(String, Map<String, Value>)> = by_id
            .into_iter()
            .map(|(id, def)| (id.to_string(), def.into_owned()))
            .collect();
        Lesson {
            store_id,
            names,
            activities,
            digests,
        }
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.activities.is_empty()
    }

    pub fn columns(&self) -> LessonColumns<'_> {
        let (ifis, names) = self
            .names
            .iter()
            .map(|(i, n)| (i.as_str(), n.as_str()))
            .unzip();
        let (activity_iris, definitions) = self
            .activities
            .iter()
            .map(|(id, d)| {
                let text = serde_json::to_string(d).expect("a JSON map serializes");
                (id.as_str(), text)
            })
            .unzip();
        LessonColumns {
            ifis,
            names,
            activity_iris,
            definitions,
        }
    }

    /// Once the lesson's statement has written the names and `created` (the Activities it
    /// created): merges the definitions of the other Activities, which were stored already,
    /// and remembers what the store now holds.
    pub async fn learned(
        self,
        writes: &PgPool,
        known: &Known,
        created: Vec<String>,
    ) -> Result<(), sqlx::Error> {
        let Lesson {
            store_id,
            names,
            activities,
            mut digests,
        } = self;
        let created: HashSet<String> = created.into_iter().collect();
        // A new Activity's canonical definition is the one it arrived with; the others are
        // merged into what is stored.
        let (new, stored): (Vec<_>, Vec<_>) = activities
            .into_iter()
            .partition(|(id, _)| created.contains(id));
        let mut canonical = new;
        if !stored.is_empty() {
            canonical.extend(merge_activities(writes, store_id, stored).await?);
        }
        let mut sets = known.sets();
        if sets.activities.len() + sets.names.len() > KNOWN_LIMIT {
            *sets = KnownSets::default();
        }
        sets.names
            .extend(names.into_iter().map(|(i, n)| (store_id, i, n)));
        for (id, definition) in canonical {
            let (canonical, Some(merged)) = (digest(&definition), digests.remove(id.as_str()))
            else {
                continue;
            };
            let known = sets
                .activities
                .entry((store_id, id))
                .or_insert_with(|| KnownActivity {
                    canonical,
                    no_ops: Vec::new(),
                });
            if known.canonical != canonical {
                known.canonical = canonical;
                known.no_ops.clear();
            }
            if !known.no_ops.contains(&merged) && known.no_ops.len() < NO_OPS_PER_ACTIVITY {
                known.no_ops.push(merged);
            }
        }
        Ok(())
    }
}

/// Merges the definitions of stored Activities (those a lesson's statement found) into the canonical
/// ones. Rows are only written when the merge changes them, in a transaction of their own
/// ([`merge_locked`]), so that batches sharing activities (every statement of a course names
/// the same ones) do not queue behind each other's row locks.
async fn merge_activities(
    writes: &PgPool,
    store_id: i64,
    activities: Vec<(String, Map<String, Value>)>,
) -> Result<Vec<(String, Map<String, Value>)>, sqlx::Error> {
    let ids: Vec<String> = activities.iter().map(|(i, _)| i.clone()).collect();
    let existing: Vec<(String, Value)> = sqlx::query_as(&super::each_key(
        "activity_iri, definition",
        "activities",
        "text",
        "activity_iri = k.key",
    ))
    .bind(store_id)
    .bind(&ids)
    .fetch_all(writes)
    .await?;
    let known: std::collections::HashMap<&str, &Value> =
        existing.iter().map(|(i, d)| (i.as_str(), d)).collect();
    // Changed definitions (rare once a course's activities are known), and rows the lookup
    // did not find (none: the lesson's statement found them stored, and Activities are never deleted),
    // are merged under row locks taken in key order; `merge_locked` creates a missing row.
    let mut changed_ids = Vec::new();
    // The canonical definitions once this transaction commits.
    let mut canonical_of: HashMap<String, Map<String, Value>> = HashMap::new();
    for (id, newer) in &activities {
        let old = known.get(id.as_str()).copied();
        let mut canonical = old.and_then(Value::as_object).cloned().unwrap_or_default();
        definitions::merge_definition(&mut canonical, newer);
        let merged = Value::Object(canonical);
        if old != Some(&merged) {
            changed_ids.push(id.clone());
        }
        if let Value::Object(m) = merged {
            canonical_of.insert(id.clone(), m);
        }
    }
    if !changed_ids.is_empty() {
        let again: Vec<(String, Map<String, Value>)> = activities
            .into_iter()
            .filter(|(id, _)| changed_ids.contains(id))
            .collect();
        let mut tx = writes.begin().await?;
        canonical_of.extend(merge_locked(&mut tx, store_id, again).await?);
        tx.commit().await?;
    }
    Ok(canonical_of.into_iter().collect())
}

/// The merge under row locks, for changed rows (and a missing one, which it creates). Rows are
/// locked in key order so that concurrent batches cannot deadlock (STYLE habit 6).
async fn merge_locked(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    mut activities: Vec<(String, Map<String, Value>)>,
) -> Result<Vec<(String, Map<String, Value>)>, sqlx::Error> {
    // The UPDATE joins `activities` to an array: planned with its parameters (`write_pool`).
    super::plan_each_execution(tx).await?;
    activities.sort_by(|a, b| a.0.cmp(&b.0));
    let ids: Vec<String> = activities.iter().map(|(i, _)| i.clone()).collect();
    sqlx::query(
        "INSERT INTO activities (store_id, activity_iri, definition)
         SELECT $1, id, '{}'::jsonb FROM UNNEST($2::text[]) AS u(id)
         ON CONFLICT DO NOTHING",
    )
    .bind(store_id)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    // The keys are sorted, and each probe locks its row as it goes: in key order.
    let existing: Vec<(String, Value)> = sqlx::query_as(&super::each_key(
        "activity_iri, definition",
        "activities",
        "text",
        "activity_iri = k.key FOR UPDATE",
    ))
    .bind(store_id)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut canonical: Vec<(String, Map<String, Value>)> = Vec::with_capacity(activities.len());
    for (id, newer) in activities.iter_mut() {
        let mut merged = existing
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, d)| d.as_object().cloned())
            .unwrap_or_default();
        definitions::merge_definition(&mut merged, newer);
        canonical.push((id.clone(), merged));
    }
    let merged: Vec<String> = canonical
        .iter()
        .map(|(_, d)| serde_json::to_string(d).expect("a JSON object serializes"))
        .collect();
    sqlx::query(
        "UPDATE activities a SET definition = u.def::jsonb, updated = now()
         FROM UNNEST($2::text[], $3::text[]) AS u(id, def)
         WHERE a.store_id = $1 AND a.activity_iri = u.id",
    )
    .bind(store_id)
    .bind(&ids)
    .bind(&merged)
    .execute(&mut **tx)
    .await?;
    Ok(canonical)
}

/// The canonical definition of an Activity, when the LRS has one.
#[tracing::instrument(skip(pool))]
pub async fn activity_definition(
    pool: &PgPool,
    store_id: i64,
    activity_iri: &str,
) -> Result<Option<Value>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT definition FROM activities WHERE store_id = $1 AND activity_iri = $2",
    )
    .bind(store_id)
    .bind(activity_iri)
    .fetch_optional(pool)
    .await?)
}

/// The names statements gave the Agent with this IFI key, in a stable order.
#[tracing::instrument(skip(pool))]
pub async fn agent_names(
    pool: &PgPool,
    store_id: i64,
    ifi: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM agent_names WHERE store_id = $1 AND ifi = $2 ORDER BY name",
    )
    .bind(store_id)
    .bind(ifi)
    .fetch_all(pool)
    .await?)
}
