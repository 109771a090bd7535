//! Communication §2.1.4 (a statement referring to another matches the filters its target
//! matches) and Data §2.3.2.s2.b3 (a voiding statement voids its target, whichever arrives
//! first), when the referring statement and its target are stored by two batches at the same
//! moment: each batch looks for the other before the other has committed.
//!
//! To make that moment certain, the first batch carries an attachment whose content row a
//! test transaction has inserted and not committed. The batch stores its statement, looks
//! for the other, and then waits at its attachment insert; meanwhile the second batch is
//! stored whole. When the test transaction rolls back, the first batch commits.

use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::attachments::{declaration, json_part, multipart, part, post_multipart, sha256, TEXT};
use crate::helpers::{spawn_app, statement, TestApp, V2};

const VERB: &str = "http://example.com/verbs/stored-at-the-same-moment";

/// Stores `held` (its statement is given the attachment) and `other` so that `held`'s batch
/// looks for `other` before `other` commits and commits after it.
async fn store_at_the_same_moment(app: &TestApp, mut held: Value, other: &Value) {
    // Content of its own, so that no earlier batch stored it.
    let content = format!("{} {}", String::from_utf8_lossy(TEXT), Uuid::new_v4()).into_bytes();
    let mut blocker = PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("INSERT INTO attachments (store_id, sha2, content) VALUES (1, $1, $2)")
        .bind(sha256(&content))
        .bind(&content)
        .execute(&mut blocker)
        .await
        .unwrap();
    held["attachments"] = json!([declaration("text/plain", &content)]);
    let body = multipart(&[json_part(&held), part(&content)]);
    let held_batch = post_multipart(app, V2, body);
    let other_batch = async {
        // Until `held`'s batch waits for the attachment row.
        let mut watcher = PgConnection::connect(&app.db.url).await.unwrap();
        let mut waiting = false;
        for _ in 0..200 {
            waiting = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                                WHERE datname = current_database() AND wait_event_type = 'Lock')",
            )
            .fetch_one(&mut watcher)
            .await
            .unwrap();
            if waiting {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(
            waiting,
            "the held batch never waited for the attachment row"
        );
        let stored = app.post_statements(V2, other).await;
        assert_eq!(stored.status(), 200, "{}", stored.text().await.unwrap());
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    };
    let (held_stored, ()) = tokio::join!(held_batch, other_batch);
    assert_eq!(
        held_stored.status(),
        200,
        "{}",
        held_stored.text().await.unwrap()
    );
}

fn target(id: Uuid) -> Value {
    let mut s = statement();
    s["id"] = json!(id);
    s["verb"] = json!({"id": VERB});
    s
}

fn referrer(id: Uuid, to: Uuid) -> Value {
    let mut s = statement();
    s["id"] = json!(id);
    s["object"] = json!({"objectType": "StatementRef", "id": to});
    s
}

/// The ids `GET /statements?verb=VERB` returns, newest first.
async fn matching_the_verb(app: &TestApp) -> Vec<String> {
    let response = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/xapi/statements?verb={}",
                VERB.replace(':', "%3A").replace('/', "%2F")
            ),
            V2,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// `GET /statements?verb=VERB` returns the target `t` and, through it, its referrer `r`.
async fn assert_both_match(app: &TestApp, t: Uuid, r: Uuid) {
    let mut found = matching_the_verb(app).await;
    found.sort();
    let mut expected = vec![t.to_string(), r.to_string()];
    expected.sort();
    assert_eq!(found, expected);
}

/// The target's batch looked for statements referring to it before the referrer committed,
/// and the referrer's batch looked for its target before the target committed.
#[tokio::test]
async fn communication_2_1_4_a_referrer_stored_while_its_target_was_being_stored_matches() {
    let app = spawn_app().await;
    let (t, r) = (Uuid::new_v4(), Uuid::new_v4());
    store_at_the_same_moment(&app, target(t), &referrer(r, t)).await;
    assert_both_match(&app, t, r).await;
}

/// The same with the referrer's batch held: it commits after its target's.
#[tokio::test]
async fn communication_2_1_4_a_target_stored_while_its_referrer_was_being_stored_matches() {
    let app = spawn_app().await;
    let (t, r) = (Uuid::new_v4(), Uuid::new_v4());
    store_at_the_same_moment(&app, referrer(r, t), &target(t)).await;
    assert_both_match(&app, t, r).await;
}

/// Data §2.3.2.s2.b3: a voiding statement and its target stored at the same moment, in
/// either order of commit: the target is voided.
#[tokio::test]
async fn data_2_3_2_s2_b3_a_target_and_its_voiding_statement_stored_at_the_same_moment() {
    let app = spawn_app().await;
    for voiding_held in [true, false] {
        let (t, v) = (Uuid::new_v4(), Uuid::new_v4());
        let mut voiding = referrer(v, t);
        voiding["verb"] = json!({"id": "http://adlnet.gov/expapi/verbs/voided"});
        if voiding_held {
            store_at_the_same_moment(&app, voiding, &target(t)).await;
        } else {
            store_at_the_same_moment(&app, target(t), &voiding).await;
        }
        let plain = app.get_statement(V2, &t.to_string()).await;
        assert_eq!(plain.status(), 404, "voiding held: {voiding_held}");
        let voided = app
            .request(
                reqwest::Method::GET,
                &format!("/xapi/statements?voidedStatementId={t}"),
                V2,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(voided.status(), 200, "voiding held: {voiding_held}");
    }
}
