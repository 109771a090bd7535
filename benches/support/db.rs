//! The benchmarks' databases: each works in its own database on `DATABASE_URL`'s server.
//! A benchmark that keeps its store between runs (`load::kept_database`) drops none.

#![allow(dead_code)]

use sqlx::{Connection, PgConnection};

/// `DATABASE_URL`, or the local server the tests use too.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of the database `name` on `admin_url`'s server, keeping its parameters
/// (`?host=/var/run/postgresql` for the unix socket, say).
pub fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (path, query) = match admin_url.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    match path.rsplit_once('/') {
        Some((base, _)) => Ok(format!("{base}/{name}{query}")),
        None => anyhow::bail!("DATABASE_URL has no database name"),
    }
}

/// Drops the database `name` if it exists, closing its connections.
pub async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// Drops and creates the database `name`; returns its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    drop_database(admin_url, name).await?;
    let mut admin = PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    database_url(admin_url, name)
}
