//! cmi5 sample scenarios (tests/fixtures/cmi5) through the API and the ETL.

use crate::helpers::spawn_app;
use crate::{open_warehouse, post_ok, rows};

fn scenario(name: &str) -> Vec<serde_json::Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cmi5")
        .join(name);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn cmi5_sessions_and_registration_outcomes_from_the_sample_scenarios() {
    let app = spawn_app().await;
    let w = open_warehouse();
    for s in scenario("14-completed_and_passed-multiple_sessions")
        .iter()
        .chain(scenario("17-abandoned_session").iter())
    {
        post_ok(&app, s).await;
    }
    crate::catch_up(&w, &app.pool).await;
    assert_eq!(w.status(&app.pool).await.unwrap().rows_total, 12);

    // cmi5 §9.5.4.1: the terminated (or abandoned) duration is the session's length.
    let sessions = rows(
        &w,
        "SELECT session_id, duration_seconds, terminated, abandoned, completed, passed,
                CAST(launched_at AS VARCHAR), CAST(ended_at AS VARCHAR), statements
         FROM fact_cmi5_session ORDER BY launched_at",
    )
    .await;
    let expected: Vec<Vec<&str>> = vec![
        vec![
            "3798c990-c602-4334-9c04-7f6196e5f869",
            "11.26",
            "false",
            "true",
            "false",
            "false",
            "2016-06-09 15:21:00.658",
            "2016-06-09 15:21:11.895",
            "3",
        ],
        vec![
            "2f7d9370-58d9-486c-9205-0b1196b35aa8",
            "9.67",
            "true",
            "false",
            "false",
            "true",
            "2016-06-09 19:55:14.14",
            "2016-06-09 19:55:28.432",
            "4",
        ],
        vec![
            "c9e10ae8-8d6c-4e33-bd55-9bd180ffb7d6",
            "9.26",
            "true",
            "false",
            "true",
            "false",
            "2016-06-09 19:55:57.633",
            "2016-06-09 19:56:10.789",
            "5",
        ],
    ];
    assert_eq!(sessions, expected);

    // Registration f2a0…: two sessions on one AU, completed in the second, passed in the first.
    let au = rows(
        &w,
        "SELECT f.launches, CAST(f.completed_at AS VARCHAR), CAST(f.passed_at AS VARCHAR),
                round(f.total_session_seconds, 2), a.activity_iri
         FROM fact_registration_au f JOIN dim_activity a ON a.activity_key = f.au_key
         JOIN dim_registration r USING (registration_key)
         WHERE r.registration = 'f2a043b3-a19c-429d-b94a-98f60d3c9d46' AND f.launches > 0",
    )
    .await;
    assert_eq!(
        au,
        vec![vec![
            "2".to_string(),
            "2016-06-09 19:56:08.257".into(),
            "2016-06-09 19:55:24.731".into(),
            "18.93".into(),
            "http://example.org/cmi5/au-lms-id/4756b42214cb0cb4825b3c9b5c15053d6a6cf7f5".into(),
        ]]
    );
    // The actor dimension has no personal data; the PII table has the name.
    let actor = rows(&w, "SELECT ifi_kind, account_home_page FROM dim_actor").await;
    assert_eq!(actor, vec![vec!["account", "http://example.org/"]]);
    let pii = rows(&w, "SELECT ifi, name FROM dim_actor_pii").await;
    assert_eq!(
        pii,
        vec![vec![
            "account:http://example.org/ Learner",
            "Learner's Name"
        ]]
    );
    assert_eq!(
        crate::value(&w, "SELECT count(*) FROM fact_statement").await,
        "12"
    );
}
