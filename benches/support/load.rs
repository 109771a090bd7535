//! Loads the seeded workload into a store through Cairn's own `POST /xapi/statements`
//! (batches of 1,000, four in flight), topping it up to the requested size.

use std::time::Instant;

use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};

use super::workload;

/// A pool on the database `db` of `admin_url`'s server, created when missing and kept between
/// runs (loading a large store takes minutes), migrated.
pub async fn kept_database(admin_url: &str, db: &str) -> anyhow::Result<PgPool> {
    let mut admin = PgConnection::connect(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(db)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut admin)
            .await?;
    }
    let url = super::db::database_url(admin_url, db)?;
    let pool = cairn::store::connect(&url, 8).await?;
    cairn::store::migrate(&pool).await?;
    Ok(pool)
}

pub async fn load(
    pool: &PgPool,
    client: &reqwest::Client,
    base: &str,
    auth: &(String, String),
    target: usize,
) -> anyhow::Result<()> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM statements")
        .fetch_one(pool)
        .await?;
    let have = have as usize;
    if have >= target {
        return Ok(());
    }
    println!(
        "loading {} statements through POST /xapi/statements (batches of 1000) …",
        target - have
    );
    let work = workload::Workload::for_statements(target, 42);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    let mut in_flight = Vec::new();
    let mut sent = 0;
    for s in work.statements(target).skip(have) {
        batch.push(s);
        if batch.len() == 1000 {
            in_flight.push(post(
                client.clone(),
                base.to_string(),
                auth.clone(),
                std::mem::take(&mut batch),
            ));
            if in_flight.len() == 4 {
                for r in futures_util::future::join_all(in_flight.drain(..)).await {
                    r??;
                }
            }
            sent += 1000;
            if sent % 100_000 == 0 {
                println!(
                    "  {sent} ({:.0} statements/s)",
                    sent as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
    }
    if !batch.is_empty() {
        in_flight.push(post(client.clone(), base.to_string(), auth.clone(), batch));
    }
    for r in futures_util::future::join_all(in_flight).await {
        r??;
    }
    Ok(())
}

fn post(
    client: reqwest::Client,
    url: String,
    auth: (String, String),
    batch: Vec<Value>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let response = client
            .post(url)
            .basic_auth(&auth.0, Some(&auth.1))
            .header("X-Experience-API-Version", "1.0.3")
            .json(&batch)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "load failed: {}",
            response.text().await?
        );
        Ok(())
    })
}
