//! Attachment content, content-addressed by SHA-2 (Data §2.4.11).

use bytes::Bytes;
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreError;
use crate::xapi::attachments::Content;

/// Stores content not stored yet, in the transaction that stores its statements.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    store_id: i64,
    contents: &[Content],
) -> Result<(), sqlx::Error> {
    if contents.is_empty() {
        return Ok(());
    }
    let hashes: Vec<&str> = contents.iter().map(|c| c.sha2.as_str()).collect();
    let bytes: Vec<&[u8]> = contents.iter().map(|c| &c.bytes[..]).collect();
    sqlx::query(
        "INSERT INTO attachments (store_id, sha2, content)
         SELECT $1, * FROM UNNEST($2::text[], $3::bytea[])
         ON CONFLICT (store_id, sha2) DO NOTHING",
    )
    .bind(store_id)
    .bind(&hashes)
    .bind(&bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored content among `hashes` (lower-case hex); hashes without content are skipped.
pub async fn fetch(
    pool: &PgPool,
    store_id: i64,
    hashes: &[String],
) -> Result<Vec<Content>, StoreError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT sha2, content FROM attachments WHERE store_id = $1 AND sha2 = ANY($2)",
    )
    .bind(store_id)
    .bind(hashes)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(sha2, content)| Content {
            sha2,
            bytes: Bytes::from(content),
        })
        .collect())
}
