//! What statements teach the LRS about Activities and Agents: canonical Activity definitions
//! (Communication §2.5) and Agent names (Communication §2.4), learned in the transaction that
//! stores the statements and read by the Activities and Agents Resources.

use serde_json::{Map, Value};
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreError;
use crate::auth::Scope;
use crate::xapi::definitions;
use crate::xapi::prepare::Prepared;

/// Called once per stored batch with the statements that were new. Only credentials that may
/// (re)define Activities and Actors (`define`, or `all` which includes it) change what the LRS
/// knows (1.0.3 Communication §4.2 scope `define`: without it the LRS "SHOULD NOT update its
/// internal representation of any Actors or Activities").
pub async fn learn(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    credential_id: i64,
    new: &[(&Prepared, i64)],
) -> Result<(), sqlx::Error> {
    let mut activities: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for (p, _) in new {
        for (id, def) in definitions::activities(&p.statement) {
            match activities.iter_mut().find(|(i, _)| *i == id) {
                Some((_, canonical)) => definitions::merge_definition(canonical, &def),
                None => activities.push((id, def)),
            }
        }
        names.extend(definitions::agent_names(&p.statement));
    }
    if activities.is_empty() && names.is_empty() {
        return Ok(());
    }
    let scopes: Vec<String> =
        sqlx::query_scalar("SELECT scopes FROM credentials WHERE id = $1 AND store_id = $2")
            .bind(credential_id)
            .bind(store_id)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_default();
    let may_define = scopes
        .iter()
        .any(|s| s == Scope::Define.as_str() || s == Scope::All.as_str());
    if !may_define {
        return Ok(());
    }
    // Rows are written in key order so that concurrent batches lock them in the same order
    // and cannot deadlock (STYLE habit 6).
    activities.sort_by(|a, b| a.0.cmp(&b.0));
    names.sort();
    names.dedup();
    if !names.is_empty() {
        let (ifis, texts): (Vec<String>, Vec<String>) = names.into_iter().unzip();
        sqlx::query(
            "INSERT INTO agent_names (store_id, ifi, name)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(store_id)
        .bind(&ifis)
        .bind(&texts)
        .execute(&mut **tx)
        .await?;
    }
    if !activities.is_empty() {
        merge_activities(tx, store_id, activities).await?;
    }
    Ok(())
}

async fn merge_activities(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    mut activities: Vec<(String, Map<String, Value>)>,
) -> Result<(), sqlx::Error> {
    let ids: Vec<String> = activities.iter().map(|(i, _)| i.clone()).collect();
    // Create the missing rows empty, then lock every row and merge in Rust.
    sqlx::query(
        "INSERT INTO activities (store_id, activity_iri, definition)
         SELECT $1, id, '{}'::jsonb FROM UNNEST($2::text[]) AS u(id)
         ON CONFLICT DO NOTHING",
    )
    .bind(store_id)
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    let existing: Vec<(String, Value)> = sqlx::query_as(
        "SELECT activity_iri, definition FROM activities
         WHERE store_id = $1 AND activity_iri = ANY($2)
         ORDER BY activity_iri FOR UPDATE",
    )
    .bind(store_id)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut merged: Vec<String> = Vec::with_capacity(activities.len());
    for (id, newer) in activities.iter_mut() {
        let mut canonical = existing
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, d)| d.as_object().cloned())
            .unwrap_or_default();
        definitions::merge_definition(&mut canonical, newer);
        merged.push(Value::Object(canonical).to_string());
    }
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
    Ok(())
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
