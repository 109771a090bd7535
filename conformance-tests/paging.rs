//! Communication §2.1.3 `more`: following the IRL returns every statement of the result once,
//! also while other clients keep storing statements (Cairn pages on the statement sequence,
//! never OFFSET, and ascending pages stop below batches still in flight).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, statement, TestApp, VERSIONS};

async fn page(app: &TestApp, version: &str, path: &str) -> Value {
    let r = app
        .request(Method::GET, path, version)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// Follows `more` from `first` to the end; returns the ids in the order received.
async fn traverse(app: &TestApp, version: &str, first: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    loop {
        let p = page(app, version, &path).await;
        for s in p["statements"].as_array().unwrap() {
            seen.push(s["id"].as_str().unwrap().to_string());
        }
        match p["more"].as_str() {
            Some(more) if !more.is_empty() => path = more.to_string(),
            _ => return seen,
        }
    }
}

/// Batches each writer posts at most. An ascending traversal ends only once it has caught up
/// with the writers, and three writers can store more than a page of 7 while it reads one, so
/// without a bound it could chase them for ever.
const WRITER_BATCHES: usize = 50;

/// Posts batches of 4 until told to stop or [`WRITER_BATCHES`] are stored; returns the ids it
/// stored.
fn writer(
    app: Arc<TestApp>,
    version: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut stored = Vec::new();
        while !stop.load(Ordering::Relaxed) && stored.len() < 4 * WRITER_BATCHES {
            let batch: Vec<Value> = (0..4)
                .map(|_| {
                    let mut s = statement();
                    s["id"] = json!(Uuid::new_v4());
                    s
                })
                .collect();
            let r = app.post_statements(version, &json!(batch)).await;
            assert_eq!(r.status(), 200);
            stored.extend(batch.iter().map(|s| s["id"].as_str().unwrap().to_string()));
        }
        stored
    })
}

async fn seqs(app: &TestApp) -> Vec<(String, i64)> {
    let rows: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT statement_id, seq FROM statements ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(id, seq)| (id.to_string(), seq))
        .collect()
}

#[tokio::test]
async fn comm_2_1_3_more_has_no_duplicates_or_gaps_under_concurrent_writers() {
    for version in VERSIONS {
        let app = Arc::new(spawn_app().await);
        let before: Vec<Value> = (0..40).map(|_| statement()).collect();
        assert_eq!(
            app.post_statements(version, &json!(before)).await.status(),
            200
        );
        let stored_before: HashSet<String> =
            seqs(&app).await.into_iter().map(|(id, _)| id).collect();

        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|_| writer(app.clone(), version, stop.clone()))
            .collect();
        let descending = traverse(&app, version, "/xapi/statements?limit=7").await;
        let ascending = traverse(&app, version, "/xapi/statements?limit=7&ascending=true").await;
        stop.store(true, Ordering::Relaxed);
        let mut written = 0;
        for w in writers {
            written += w.await.unwrap().len();
        }
        assert!(
            written > 0,
            "{version}: the writers stored nothing while the pages were read"
        );

        for (name, seen) in [("descending", &descending), ("ascending", &ascending)] {
            let unique: HashSet<&String> = seen.iter().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{version} {name}: a statement came twice"
            );
            for id in &stored_before {
                assert!(
                    unique.contains(id),
                    "{version} {name}: {id}, stored before paging began, is missing"
                );
            }
        }
        // Ascending, no statement is skipped: everything up to the last one seen is there.
        let all = seqs(&app).await;
        let last = all
            .iter()
            .filter(|(id, _)| ascending.contains(id))
            .map(|(_, s)| *s)
            .max()
            .unwrap();
        let expected: Vec<&String> = all
            .iter()
            .filter(|(_, s)| *s <= last)
            .map(|(id, _)| id)
            .collect();
        let got: Vec<&String> = ascending.iter().collect();
        assert_eq!(
            got, expected,
            "{version}: ascending pages skipped or reordered statements"
        );
    }
}
