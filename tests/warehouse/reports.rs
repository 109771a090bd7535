//! Reports over HTTP on a small fixture whose numbers are worked out by hand below.
//!
//! Course C (contextActivities.grouping), three cmi5 registrations on 2026-03-02:
//! - R1 ann: launched, initialized, progressed, completed, passed (0.9), terminated PT4M, satisfied
//! - R2 bob: launched, initialized, failed (0.3), terminated PT12M
//! - R3 cat: launched, abandoned PT30M
//!
//! Quiz Q with items q1–q3 (parent Q) on 2026-03-03, first attempts (1 = correct):
//!   ann 1 0 1 (and a second, correct, attempt at q2), bob 1 1 0, cat 0 0 0, dan 1 1 1.
//!
//! Video V (100 s) on 2026-03-04: ann watches 0–100 and completes; bob watches 0–30.

use serde_json::{json, Value};

use crate::helpers::{statement, TestApp};
use crate::{open_warehouse, post_ok, spawn_app_with_warehouse};

const C: &str = "http://example.com/course/1";
const AU: &str = "http://example.com/course/1/au/1";
const Q: &str = "http://example.com/quiz/1";
const V: &str = "http://example.com/video/1";
const ADL: &str = "http://adlnet.gov/expapi/verbs/";
const SESSION: &str = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";

fn actor(name: &str) -> Value {
    json!({"objectType": "Agent", "name": name, "mbox": format!("mailto:{name}@example.com")})
}

fn cmi5(who: &str, reg: &str, verb: &str, at: &str, result: Value) -> Value {
    let (verb_iri, object) = match verb {
        "abandoned" => ("https://w3id.org/xapi/adl/verbs/abandoned".to_string(), AU),
        "satisfied" => ("https://w3id.org/xapi/adl/verbs/satisfied".to_string(), C),
        v => (format!("{ADL}{v}"), AU),
    };
    let mut s = json!({
        "actor": actor(who),
        "verb": {"id": verb_iri, "display": {"en-US": verb}},
        "object": {"id": object, "definition": {"name": {"en-US": "Unit 1"}}},
        "context": {"registration": reg,
                    "contextActivities": {"grouping": [{"id": C}]},
                    "extensions": {SESSION: format!("session-{reg}")}},
        "timestamp": at
    });
    if verb == "satisfied" {
        s["context"]["extensions"] = json!({});
        s["object"]["definition"] = json!({"name": {"en-US": "Course 1"}});
    }
    if !result.is_null() {
        s["result"] = result;
    }
    s
}

fn answer(who: &str, item: &str, response: &str, correct: bool, at: &str) -> Value {
    json!({
        "actor": actor(who),
        "verb": {"id": format!("{ADL}answered"), "display": {"en-US": "answered"}},
        "object": {"id": format!("{Q}/{item}"),
                   "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                  "interactionType": "choice", "correctResponsesPattern": ["b"]}},
        "result": {"response": response, "success": correct},
        "context": {"contextActivities": {"parent": [{"id": Q}]}},
        "timestamp": at
    })
}

fn video(who: &str, session: &str, verb: &str, segments: Option<&str>, at: &str) -> Value {
    let mut s = json!({
        "actor": actor(who),
        "verb": {"id": verb, "display": {"en-US": "video"}},
        "object": {"id": V, "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                                          "name": {"en-US": "Intro video"}}},
        "context": {"extensions": {
            "https://w3id.org/xapi/video/extensions/session-id": session,
            "https://w3id.org/xapi/video/extensions/length": 100.0}},
        "timestamp": at
    });
    if let Some(seg) = segments {
        s["result"] = json!({"extensions": {
            "https://w3id.org/xapi/video/extensions/played-segments": seg}});
    }
    s
}

fn fixture() -> Vec<Value> {
    let (r1, r2, r3) = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        "33333333-3333-4333-8333-333333333333",
    );
    let d = |t: &str| format!("2026-03-02T{t}:00Z");
    let e = |t: &str| format!("2026-03-03T{t}:00Z");
    let n = Value::Null;
    vec![
        cmi5("ann", r1, "launched", &d("10:00"), n.clone()),
        cmi5("ann", r1, "initialized", &d("10:01"), n.clone()),
        cmi5(
            "ann",
            r1,
            "progressed",
            &d("10:02"),
            json!({"extensions": {
            "https://w3id.org/xapi/cmi5/result/extensions/progress": 50}}),
        ),
        cmi5(
            "ann",
            r1,
            "completed",
            &d("10:03"),
            json!({"completion": true, "duration": "PT3M"}),
        ),
        cmi5(
            "ann",
            r1,
            "passed",
            &d("10:03"),
            json!({"success": true, "score": {"scaled": 0.9}}),
        ),
        cmi5(
            "ann",
            r1,
            "terminated",
            &d("10:04"),
            json!({"duration": "PT4M"}),
        ),
        cmi5("ann", r1, "satisfied", &d("10:05"), n.clone()),
        cmi5("bob", r2, "launched", &d("11:00"), n.clone()),
        cmi5("bob", r2, "initialized", &d("11:00"), n.clone()),
        cmi5(
            "bob",
            r2,
            "failed",
            &d("11:10"),
            json!({"success": false, "score": {"scaled": 0.3}}),
        ),
        cmi5(
            "bob",
            r2,
            "terminated",
            &d("11:12"),
            json!({"duration": "PT12M"}),
        ),
        cmi5("cat", r3, "launched", &d("12:00"), n.clone()),
        cmi5(
            "cat",
            r3,
            "abandoned",
            &d("12:30"),
            json!({"duration": "PT30M"}),
        ),
        answer("ann", "q1", "b", true, &e("09:00")),
        answer("ann", "q2", "a", false, &e("09:01")),
        answer("ann", "q3", "b", true, &e("09:02")),
        answer("ann", "q2", "b", true, &e("09:05")),
        answer("bob", "q1", "b", true, &e("10:00")),
        answer("bob", "q2", "b", true, &e("10:00")),
        answer("bob", "q3", "a", false, &e("10:00")),
        answer("cat", "q1", "a", false, &e("10:30")),
        answer("cat", "q2", "c", false, &e("10:31")),
        answer("cat", "q3", "a", false, &e("10:32")),
        answer("dan", "q1", "b", true, &e("11:00")),
        answer("dan", "q2", "b", true, &e("11:00")),
        answer("dan", "q3", "b", true, &e("11:00")),
        video(
            "ann",
            "v-ann",
            "https://w3id.org/xapi/video/verbs/played",
            None,
            "2026-03-04T09:00:00Z",
        ),
        video(
            "ann",
            "v-ann",
            &format!("{ADL}completed"),
            Some("0[.]60[,]50[.]100"),
            "2026-03-04T09:02:00Z",
        ),
        video(
            "bob",
            "v-bob",
            "https://w3id.org/xapi/video/verbs/paused",
            Some("0[.]30"),
            "2026-03-04T10:00:30Z",
        ),
    ]
}

async fn loaded() -> (TestApp, std::sync::Arc<cairn::warehouse::Warehouse>) {
    let w = open_warehouse();
    let app = spawn_app_with_warehouse(w.clone()).await;
    post_ok(&app, &Value::Array(fixture())).await;
    crate::catch_up(&w, &app.pool).await;
    (app, w)
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .basic_auth(&app.key, Some(&app.secret))
        .send()
        .await
        .unwrap()
}

async fn json_of(app: &TestApp, path: &str) -> Value {
    let r = get(app, path).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The rows of a JSON report, each as the listed columns.
fn table(body: &Value, cols: &[&str]) -> Vec<Vec<Value>> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| cols.iter().map(|c| r[*c].clone()).collect())
        .collect()
}

fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn every_report_on_the_fixture() {
    let (app, _w) = loaded().await;

    // Completion funnel: 3 registered, 3 launched, 2 initialized, then 1 at every later stage.
    let f = json_of(&app, "/api/v1/reports/completion-funnel").await;
    assert_eq!(f["total"], 7);
    assert!(f["warehouse"]["as_of"].is_string());
    assert_eq!(
        table(
            &f,
            &[
                "group_iri",
                "stage",
                "registrations",
                "conversion_from_previous",
                "conversion_from_registered"
            ]
        ),
        vec![
            vec![
                json!(C),
                json!("registered"),
                json!(3),
                Value::Null,
                json!(1.0)
            ],
            vec![
                json!(C),
                json!("launched"),
                json!(3),
                json!(1.0),
                json!(1.0)
            ],
            vec![
                json!(C),
                json!("initialized"),
                json!(2),
                json!(0.6667),
                json!(0.6667)
            ],
            vec![
                json!(C),
                json!("progressed"),
                json!(1),
                json!(0.5),
                json!(0.3333)
            ],
            vec![
                json!(C),
                json!("completed"),
                json!(1),
                json!(1.0),
                json!(0.3333)
            ],
            vec![
                json!(C),
                json!("passed"),
                json!(1),
                json!(1.0),
                json!(0.3333)
            ],
            vec![
                json!(C),
                json!("satisfied"),
                json!(1),
                json!(1.0),
                json!(0.3333)
            ],
        ]
    );
    assert_eq!(f["rows"][0]["group_name"], "Course 1");

    // Item analysis: p = 3/4, 2/4, 2/4; point-biserial with the rest score:
    // q1: x=(1,1,0,1), rest=(1,1,0,2): 1/sqrt(0.75·2) = 0.8165;
    // q2: x=(0,1,0,1), rest=(2,1,0,2): 0.5/sqrt(1·2.75) = 0.3015; q3 likewise 0.3015.
    let items = json_of(&app, "/api/v1/reports/item-analysis").await;
    assert_eq!(
        table(
            &items,
            &[
                "assessment_iri",
                "item_iri",
                "attempts",
                "learners",
                "difficulty_p_value",
                "discrimination",
                "flags"
            ]
        ),
        vec![
            vec![
                json!(Q),
                json!(format!("{Q}/q1")),
                json!(4),
                json!(4),
                json!(0.75),
                json!(0.8165),
                json!("")
            ],
            vec![
                json!(Q),
                json!(format!("{Q}/q2")),
                json!(5),
                json!(4),
                json!(0.5),
                json!(0.3015),
                json!("")
            ],
            vec![
                json!(Q),
                json!(format!("{Q}/q3")),
                json!(4),
                json!(4),
                json!(0.5),
                json!(0.3015),
                json!("")
            ],
        ]
    );

    // Distractors of q2: b three times (two of them first attempts), a and c once each.
    let d = json_of(
        &app,
        &format!("/api/v1/reports/item-distractors?activity={}", url(Q)),
    )
    .await;
    let q2: Vec<Vec<Value>> = table(
        &d,
        &[
            "item_iri",
            "response",
            "responses",
            "first_attempt_responses",
            "share",
            "correct",
        ],
    )
    .into_iter()
    .filter(|r| r[0] == json!(format!("{Q}/q2")))
    .collect();
    assert_eq!(
        q2,
        vec![
            vec![
                json!(format!("{Q}/q2")),
                json!("b"),
                json!(3),
                json!(2),
                json!(0.6),
                json!(true)
            ],
            vec![
                json!(format!("{Q}/q2")),
                json!("a"),
                json!(1),
                json!(1),
                json!(0.2),
                json!(false)
            ],
            vec![
                json!(format!("{Q}/q2")),
                json!("c"),
                json!(1),
                json!(1),
                json!(0.2),
                json!(false)
            ],
        ]
    );

    // Engagement per day. 03-02: 3 learners, 13 statements, minutes ann 6 + bob 3 + cat 2 = 11.
    // 03-03: 4 learners, 13 statements, minutes ann 4 + bob 1 + cat 3 + dan 1 = 9.
    // 03-04: 2 learners, 3 statements, minutes ann 2 + bob 1 = 3.
    let e = json_of(&app, "/api/v1/reports/engagement?interval=day").await;
    assert_eq!(
        table(
            &e,
            &[
                "period_start",
                "active_learners",
                "statements",
                "active_minutes"
            ]
        ),
        vec![
            vec![json!("2026-03-02"), json!(3), json!(13), json!(11)],
            vec![json!("2026-03-03"), json!(4), json!(13), json!(9)],
            vec![json!("2026-03-04"), json!(2), json!(3), json!(3)],
        ]
    );
    // By week (ISO weeks start on Monday 2026-03-02) and by course.
    let e = json_of(
        &app,
        "/api/v1/reports/engagement?interval=week&group=course",
    )
    .await;
    assert_eq!(
        table(
            &e,
            &["period_start", "group", "active_learners", "statements"]
        ),
        vec![
            vec![json!("2026-03-02"), Value::Null, json!(4), json!(16)],
            vec![json!("2026-03-02"), json!(C), json!(3), json!(13)],
        ]
    );

    // Learner progress in C.
    let p = json_of(
        &app,
        &format!("/api/v1/reports/learner-progress?course={}", url(C)),
    )
    .await;
    assert_eq!(
        table(
            &p,
            &[
                "learner",
                "name",
                "aus_attempted",
                "aus_satisfied",
                "best_score_scaled",
                "time_spent_seconds",
                "last_activity",
                "statements"
            ]
        ),
        vec![
            vec![
                json!("mbox:mailto:ann@example.com"),
                json!("ann"),
                json!(1),
                json!(1),
                json!(0.9),
                json!(240.0),
                json!("2026-03-02T10:05:00"),
                json!(7)
            ],
            vec![
                json!("mbox:mailto:bob@example.com"),
                json!("bob"),
                json!(1),
                json!(0),
                json!(0.3),
                json!(720.0),
                json!("2026-03-02T11:12:00"),
                json!(4)
            ],
            vec![
                json!("mbox:mailto:cat@example.com"),
                json!("cat"),
                json!(1),
                json!(0),
                Value::Null,
                json!(1800.0),
                json!("2026-03-02T12:30:00"),
                json!(2)
            ],
        ]
    );

    // At risk in C on 2026-03-20: ann finished and passed; bob and cat are flagged.
    let r = json_of(
        &app,
        &format!(
            "/api/v1/reports/at-risk?course={}&as_of=2026-03-20&inactive_days=7",
            url(C)
        ),
    )
    .await;
    assert_eq!(
        table(
            &r,
            &["learner", "days_inactive", "abandoned_sessions", "reasons"]
        ),
        vec![
            vec![
                json!("mbox:mailto:bob@example.com"),
                json!(18),
                json!(0),
                json!("inactive,failed_not_passed,low_score")
            ],
            vec![
                json!("mbox:mailto:cat@example.com"),
                json!(18),
                json!(1),
                json!("inactive,abandoned_sessions")
            ],
        ]
    );
    // A longer threshold leaves only the outcome reasons.
    let r = json_of(
        &app,
        &format!(
            "/api/v1/reports/at-risk?course={}&as_of=2026-03-20&inactive_days=30&min_score=0.2",
            url(C)
        ),
    )
    .await;
    assert_eq!(
        table(&r, &["learner", "reasons"]),
        vec![
            vec![
                json!("mbox:mailto:bob@example.com"),
                json!("failed_not_passed")
            ],
            vec![
                json!("mbox:mailto:cat@example.com"),
                json!("abandoned_sessions")
            ],
        ]
    );

    // Video: 2 viewers, ann completed (1/2); shares 100/100 and 30/100 → 0.65; 130 s watched.
    let v = json_of(&app, "/api/v1/reports/video-engagement").await;
    assert_eq!(
        table(
            &v,
            &[
                "video_iri",
                "video_name",
                "viewers",
                "sessions",
                "completion_rate",
                "avg_share_watched",
                "watched_seconds"
            ]
        ),
        vec![vec![
            json!(V),
            json!("Intro video"),
            json!(2),
            json!(2),
            json!(0.5),
            json!(0.65),
            json!(130.0)
        ]]
    );
    // Drop-off in quarters (midpoints 12.5, 37.5, 62.5, 87.5): bob only reaches the first.
    let v = json_of(&app, "/api/v1/reports/video-dropoff?buckets=4").await;
    assert_eq!(
        table(
            &v,
            &[
                "bucket",
                "position_start_seconds",
                "position_end_seconds",
                "viewers_watched",
                "share_watched"
            ]
        ),
        vec![
            vec![json!(0), json!(0.0), json!(25.0), json!(2), json!(1.0)],
            vec![json!(1), json!(25.0), json!(50.0), json!(1), json!(0.5)],
            vec![json!(2), json!(50.0), json!(75.0), json!(1), json!(0.5)],
            vec![json!(3), json!(75.0), json!(100.0), json!(1), json!(0.5)],
        ]
    );

    // Top verbs in C: launched 3; initialized and terminated 2 each (ties by IRI).
    let t = json_of(
        &app,
        &format!("/api/v1/reports/top-verbs?top=3&course={}", url(C)),
    )
    .await;
    assert_eq!(
        table(&t, &["verb_iri", "statements", "learners"]),
        vec![
            vec![json!(format!("{ADL}launched")), json!(3), json!(3)],
            vec![json!(format!("{ADL}initialized")), json!(2), json!(2)],
            vec![json!(format!("{ADL}terminated")), json!(2), json!(2)],
        ]
    );
    // Top activities overall: the AU has 12 statements (3 learners), q2 5 (4 learners).
    let t = json_of(&app, "/api/v1/reports/top-activities?top=2").await;
    assert_eq!(
        table(&t, &["activity_iri", "statements", "learners"]),
        vec![
            vec![json!(AU), json!(12), json!(3)],
            vec![json!(format!("{Q}/q2")), json!(5), json!(4)],
        ]
    );

    // Filters: one learner, a date range.
    let t = json_of(
        &app,
        "/api/v1/reports/top-verbs?learner=mailto:dan@example.com",
    )
    .await;
    assert_eq!(table(&t, &["statements"]), vec![vec![json!(3)]]);
    let e = json_of(
        &app,
        "/api/v1/reports/engagement?since=2026-03-03&until=2026-03-04",
    )
    .await;
    assert_eq!(
        table(&e, &["period_start", "statements"]),
        vec![vec![json!("2026-03-03"), json!(13)]]
    );
}

#[tokio::test]
async fn paging_formats_and_errors() {
    let (app, _w) = loaded().await;
    let first = json_of(&app, "/api/v1/reports/completion-funnel?limit=3").await;
    assert_eq!(first["rows"].as_array().unwrap().len(), 3);
    assert_eq!(first["total"], 7);
    let next = first["next"].as_str().unwrap().to_string();
    assert!(next.contains("offset=3"), "{next}");
    let second = json_of(&app, &next).await;
    assert_eq!(second["rows"][0]["stage"], "progressed");
    let last = json_of(&app, "/api/v1/reports/completion-funnel?limit=3&offset=6").await;
    assert_eq!(last["rows"].as_array().unwrap().len(), 1);
    assert!(last.get("next").is_none());

    // CSV: a header and one line per row.
    let r = get(&app, "/api/v1/reports/completion-funnel?format=csv").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers().contains_key("x-cairn-warehouse-as-of"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8);
    assert!(lines[0].starts_with("group_iri,group_name,stage_order,stage,registrations"));
    assert!(lines[2].contains(",launched,3,1"), "{}", lines[2]);
    // A CSV page carries the row count and the next page in headers.
    let r = get(&app, "/api/v1/reports/completion-funnel?format=csv&limit=3").await;
    assert_eq!(r.headers()["x-cairn-total-rows"], "7");
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("offset=3") && link.ends_with("rel=\"next\""),
        "{link}"
    );
    assert_eq!(r.text().await.unwrap().lines().count(), 4);

    // Arrow IPC stream by Accept header.
    let r = app
        .client
        .get(app.url("/api/v1/reports/top-verbs"))
        .basic_auth(&app.key, Some(&app.secret))
        .header("Accept", "application/vnd.apache.arrow.stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.to_vec()), None)
            .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 10);

    // Parquet.
    let r = get(&app, "/api/v1/reports/item-analysis?format=parquet").await;
    assert_eq!(r.status(), 200);
    let bytes = bytes::Bytes::from(r.bytes().await.unwrap().to_vec());
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);

    // Bad input: each a 400 (404 for an unknown report) whose JSON body names the problem.
    for (path, status, needle) in [
        ("/api/v1/reports/nope", 404, "no report `nope`"),
        ("/api/v1/reports/engagement?interval=year", 400, "interval"),
        ("/api/v1/reports/engagement?colour=red", 400, "colour"),
        ("/api/v1/reports/top-verbs?format=xml", 400, "format"),
        ("/api/v1/reports/top-verbs?limit=abc", 400, "limit"),
        ("/api/v1/reports/top-verbs?since=yesterday", 400, "since"),
        ("/api/v1/reports/top-verbs?learner=ann", 400, "learner"),
        ("/api/v1/reports/at-risk?min_score=5", 400, "min_score"),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), status, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }

    // Scopes: analytics/read and all/read may read reports; statements/read may not.
    use cairn::auth::Scope;
    for (scopes, status) in [
        (vec![Scope::AnalyticsRead], 200),
        (vec![Scope::AllRead], 200),
        (vec![Scope::StatementsRead], 403),
    ] {
        let cred = app.credential(&scopes).await;
        let r = app
            .client
            .get(app.url("/api/v1/reports/top-verbs"))
            .basic_auth(&cred.0, Some(&cred.1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{scopes:?}");
    }
    let r = app
        .client
        .get(app.url("/api/v1/reports/top-verbs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn reports_without_a_warehouse_say_so() {
    let app = crate::helpers::spawn_app().await;
    post_ok(&app, &json!([statement()])).await;
    let r = get(&app, "/api/v1/reports/top-verbs").await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("not enabled"));
}
