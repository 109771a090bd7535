//! Credentials: API key + argon2id-hashed secret, bound to one store, with xAPI scopes.

use serde_json::Value;
use sqlx::PgPool;

use super::StoreError;

#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: i64,
    pub store_id: i64,
    pub api_key: String,
    pub secret_hash: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub authority: Value,
    pub created: chrono::DateTime<chrono::Utc>,
    pub revoked: Option<chrono::DateTime<chrono::Utc>>,
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    Vec<String>,
    Value,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
);

fn from_row(r: Row) -> CredentialRow {
    CredentialRow {
        id: r.0,
        store_id: r.1,
        api_key: r.2,
        secret_hash: r.3,
        name: r.4,
        scopes: r.5,
        authority: r.6,
        created: r.7,
        revoked: r.8,
    }
}

const COLUMNS: &str =
    "id, store_id, api_key, secret_hash, name, scopes, authority, created, revoked";

pub struct NewCredential<'a> {
    pub store_id: i64,
    pub api_key: &'a str,
    pub secret_hash: &'a str,
    pub name: &'a str,
    pub scopes: &'a [String],
    pub authority: &'a Value,
}

#[tracing::instrument(skip_all, fields(name = new.name))]
pub async fn insert(pool: &PgPool, new: NewCredential<'_>) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO credentials (store_id, api_key, secret_hash, name, scopes, authority)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.store_id)
    .bind(new.api_key)
    .bind(new.secret_hash)
    .bind(new.name)
    .bind(new.scopes)
    .bind(new.authority)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// The active (not revoked) credential with this key.
#[tracing::instrument(skip(pool))]
pub async fn find_active(
    pool: &PgPool,
    api_key: &str,
) -> Result<Option<CredentialRow>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE api_key = $1 AND revoked IS NULL"
    ))
    .bind(api_key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

pub async fn list(pool: &PgPool) -> Result<Vec<CredentialRow>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM credentials ORDER BY id"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Marks the credential revoked; returns false when no active credential has this key.
pub async fn revoke(pool: &PgPool, api_key: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE credentials SET revoked = now() WHERE api_key = $1 AND revoked IS NULL",
    )
    .bind(api_key)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
