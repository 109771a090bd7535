//! Synthetic quiz and video data: item responses, scores, watched seconds, and a void that
//! arrives after its target was loaded.

use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::{open_warehouse, post_ok, rows, value};

const QUIZ: &str = "http://example.com/quiz/1";

fn actor(name: &str) -> Value {
    json!({"objectType": "Agent", "name": name, "mbox": format!("mailto:{name}@example.com")})
}

fn answer(id: &str, who: &str, item: &str, response: &str, success: bool, duration: &str) -> Value {
    json!({
        "id": id,
        "actor": actor(who),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {"objectType": "Activity", "id": format!("{QUIZ}/{item}"),
                   "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                  "interactionType": "choice",
                                  "correctResponsesPattern": ["b"],
                                  "choices": [{"id": "a", "description": {"en-US": "A"}},
                                              {"id": "b", "description": {"en-US": "B"}}]}},
        "result": {"response": response, "success": success, "duration": duration,
                   "score": {"raw": if success {1} else {0}, "max": 1}},
        "context": {"contextActivities": {"parent": [{"id": QUIZ}]}},
        "timestamp": "2026-03-02T10:15:00Z"
    })
}

#[tokio::test]
async fn quiz_item_responses_scores_and_a_late_void() {
    let app = spawn_app().await;
    let w = open_warehouse();
    let ids = [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003",
    ];
    post_ok(&app, &json!([
        answer(ids[0], "ann", "q1", "b", true, "PT12.5S"),
        answer(ids[1], "ann", "q2", "a", false, "PT1M3S"),
        answer(ids[2], "bob", "q1", "a", false, "PT4S"),
        {"actor": actor("ann"),
         "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en-US": "passed"}},
         "object": {"id": QUIZ},
         "result": {"score": {"scaled": 0.5, "raw": 1, "min": 0, "max": 2}, "success": true,
                    "completion": true, "duration": "PT1H2M"},
         "timestamp": "2026-03-02T10:20:00Z"}
    ])).await;
    crate::catch_up(&w, &app.pool).await;

    let items = rows(
        &w,
        "SELECT f.statement_id, a.activity_iri, f.response, f.correct, f.score_raw,
                f.duration_seconds, f.interaction_type, p.activity_iri, f.date_key
         FROM fact_item_response f JOIN dim_activity a ON a.activity_key = f.item_key
         JOIN dim_activity p ON p.activity_key = f.assessment_key ORDER BY f.statement_id",
    )
    .await;
    let quiz_item = |i: &str| format!("{QUIZ}/{i}");
    assert_eq!(
        items,
        vec![
            vec![
                ids[0].into(),
                quiz_item("q1"),
                "b".into(),
                "true".into(),
                "1".into(),
                "12.5".into(),
                "choice".into(),
                QUIZ.into(),
                "20260302".into()
            ],
            vec![
                ids[1].into(),
                quiz_item("q2"),
                "a".into(),
                "false".into(),
                "0".into(),
                "63".into(),
                "choice".into(),
                QUIZ.into(),
                "20260302".into()
            ],
            vec![
                ids[2].into(),
                quiz_item("q1"),
                "a".into(),
                "false".into(),
                "0".into(),
                "4".into(),
                "choice".into(),
                QUIZ.into(),
                "20260302".into()
            ],
        ]
    );
    let passed = rows(&w,
        "SELECT score_scaled, score_raw, score_min, score_max, result_success, result_completion,
                duration_seconds FROM fact_statement WHERE verb_key = 'http://adlnet.gov/expapi/verbs/passed'").await;
    assert_eq!(
        passed,
        vec![vec!["0.5", "1", "0", "2", "true", "true", "3720"]]
    );
    let daily = rows(
        &w,
        "SELECT p.name, d.statements, d.activities, d.duration_seconds, d.completions
         FROM fact_daily_activity d JOIN dim_actor_pii p USING (actor_key) ORDER BY p.name",
    )
    .await;
    assert_eq!(
        daily,
        vec![
            vec!["ann", "3", "3", "3795.5", "1"],
            vec!["bob", "1", "1", "4", "0"]
        ]
    );
    assert_eq!(
        value(
            &w,
            "SELECT correct_responses FROM dim_activity WHERE activity_iri LIKE '%q1'"
        )
        .await,
        "[\"b\"]"
    );

    // The void arrives after its target was loaded: the target leaves the facts.
    post_ok(
        &app,
        &json!({
            "actor": actor("admin"),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": ids[2]}
        }),
    )
    .await;
    crate::catch_up(&w, &app.pool).await;
    assert_eq!(
        value(&w, "SELECT count(*) FROM fact_item_response").await,
        "2"
    );
    assert_eq!(
        value(
            &w,
            &format!(
                "SELECT count(*) FROM fact_statement WHERE statement_id = '{}'",
                ids[2]
            )
        )
        .await,
        "0"
    );
    // Neither the voided nor the voiding statement is a fact; silver keeps both.
    assert_eq!(value(&w, "SELECT count(*) FROM fact_statement").await, "3");
    assert_eq!(
        value(
            &w,
            "SELECT count(*) FILTER (WHERE voided) || '/' || count(*) FROM silver_statement"
        )
        .await,
        "1/5"
    );
    assert_eq!(
        rows(&w, "SELECT name FROM dim_actor_pii ORDER BY name").await,
        vec![vec!["ann"]]
    );
}

fn video(verb: &str, session: &str, result: Value, at: &str) -> Value {
    json!({
        "actor": actor("cat"),
        "verb": {"id": verb, "display": {"en-US": verb.rsplit('/').next().unwrap()}},
        "object": {"id": "http://example.com/videos/intro",
                   "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                                  "name": {"en-US": "Intro"}}},
        "result": result,
        "context": {"extensions": {
            "https://w3id.org/xapi/video/extensions/session-id": session,
            "https://w3id.org/xapi/video/extensions/length": 120.0}},
        "timestamp": at
    })
}

#[tokio::test]
async fn video_sessions_count_watched_seconds_once() {
    let app = spawn_app().await;
    let w = open_warehouse();
    let ext = |segments: &str, time: f64, progress: f64| {
        json!({"extensions": {
        "https://w3id.org/xapi/video/extensions/played-segments": segments,
        "https://w3id.org/xapi/video/extensions/time": time,
        "https://w3id.org/xapi/video/extensions/progress": progress}})
    };
    let v = "https://w3id.org/xapi/video/verbs/";
    post_ok(
        &app,
        &json!([
            video(
                "http://adlnet.gov/expapi/verbs/initialized",
                "s1",
                json!({}),
                "2026-03-03T09:00:00Z"
            ),
            video(
                &format!("{v}played"),
                "s1",
                json!({"extensions": {"https://w3id.org/xapi/video/extensions/time": 0.0}}),
                "2026-03-03T09:00:01Z"
            ),
            video(
                &format!("{v}paused"),
                "s1",
                ext("0[.]30", 30.0, 0.25),
                "2026-03-03T09:00:31Z"
            ),
            video(
                &format!("{v}seeked"),
                "s1",
                ext("0[.]30", 20.0, 0.25),
                "2026-03-03T09:00:32Z"
            ),
            // 20–50 overlaps 0–30: 50 seconds watched in all, not 60.
            video(
                &format!("{v}paused"),
                "s1",
                ext("0[.]30[,]20[.]50", 50.0, 0.42),
                "2026-03-03T09:01:02Z"
            ),
            video(
                &format!("{v}played"),
                "s2",
                json!({}),
                "2026-03-04T09:00:00Z"
            ),
            video(
                "http://adlnet.gov/expapi/verbs/completed",
                "s2",
                ext("0[.]120", 120.0, 1.0),
                "2026-03-04T09:02:00Z"
            ),
        ]),
    )
    .await;
    crate::catch_up(&w, &app.pool).await;
    let sessions = rows(&w,
        "SELECT session_id, watched_seconds, video_length_seconds, progress, completed, plays, pauses, seeks, date_key
         FROM fact_video_session ORDER BY session_id").await;
    assert_eq!(
        sessions,
        vec![
            vec!["s1", "50", "120", "0.42", "false", "1", "2", "1", "20260303"],
            vec!["s2", "120", "120", "1", "true", "1", "0", "0", "20260304"],
        ]
    );
}
