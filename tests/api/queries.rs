//! Statement queries: filters, voided statements, StatementRef targets, `more` paging.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, statement, statement_with, TestApp, V1, V2};

async fn query(app: &TestApp, version: &str, q: &str) -> Value {
    let r = app
        .request(Method::GET, &format!("/xapi/statements?{q}"), version)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "GET ?{q}");
    assert!(r
        .headers()
        .contains_key("x-experience-api-consistent-through"));
    r.json().await.unwrap()
}

fn ids(result: &Value) -> Vec<String> {
    result["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

async fn post(app: &TestApp, body: &Value) -> Vec<String> {
    let r = app.post_statements(V2, body).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn filters_combine_with_and() {
    let app = spawn_app().await;
    let bob = json!({"mbox": "mailto:bob@example.com"});
    let registration = "9e13cefd-53d3-4eac-b5ed-2cf6693903bb";
    let ann_attempt = post(&app, &statement()).await;
    let bob_attempt = post(&app, &statement_with("actor", bob.clone())).await;
    let mut bob_passed = statement_with("actor", bob.clone());
    bob_passed["verb"] = json!({"id": "http://adlnet.gov/expapi/verbs/passed"});
    bob_passed["context"] = json!({"registration": registration,
        "contextActivities": {"parent": [{"id": "http://example.com/courses/c1"}]}});
    let bob_passed = post(&app, &bob_passed).await;

    let agent = urlencode(&bob.to_string());
    assert_eq!(
        ids(&query(&app, V1, &format!("agent={agent}")).await),
        [bob_passed[0].clone(), bob_attempt[0].clone()]
    );
    let verb = urlencode("http://adlnet.gov/expapi/verbs/passed");
    assert_eq!(
        ids(&query(&app, V1, &format!("agent={agent}&verb={verb}")).await),
        bob_passed
    );
    assert_eq!(
        ids(&query(&app, V2, &format!("registration={registration}")).await),
        bob_passed
    );
    let course = urlencode("http://example.com/courses/c1");
    assert!(ids(&query(&app, V2, &format!("activity={course}")).await).is_empty());
    assert_eq!(
        ids(&query(
            &app,
            V2,
            &format!("activity={course}&related_activities=true")
        )
        .await),
        bob_passed
    );
    let all = ids(&query(&app, V2, "ascending=true").await);
    assert_eq!(
        all,
        [
            ann_attempt[0].clone(),
            bob_attempt[0].clone(),
            bob_passed[0].clone()
        ]
    );
}

#[tokio::test]
async fn more_pages_through_without_gaps_or_duplicates_while_writes_continue() {
    let app = spawn_app().await;
    let batch: Vec<Value> = (0..25).map(|_| statement()).collect();
    let mut expected = post(&app, &json!(batch)).await;
    expected.reverse(); // newest first
    let mut seen = Vec::new();
    let mut page = query(&app, V1, "limit=10").await;
    loop {
        seen.extend(ids(&page));
        // New statements arriving between pages must not shift the result.
        post(&app, &statement()).await;
        let more = page["more"].as_str().unwrap().to_string();
        if more.is_empty() {
            break;
        }
        let r = app.request(Method::GET, &more, V1).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        page = r.json().await.unwrap();
    }
    assert_eq!(seen, expected);
}

/// Communication §2.1.4: a statement referring to another matches the filters its target
/// matches — also when the target is stored after the statement that refers to it, and for
/// every kind of filter.
#[tokio::test]
async fn statement_refs_match_through_targets_stored_before_or_after() {
    let app = spawn_app().await;
    let registration = uuid::Uuid::new_v4().to_string();
    let late_id = uuid::Uuid::new_v4().to_string();
    let refer = |id: &str| {
        json!({"actor": {"mbox": "mailto:commenter@example.com"},
               "verb": {"id": "http://adlnet.gov/expapi/verbs/commented"},
               "object": {"objectType": "StatementRef", "id": id}})
    };
    let mut target = statement_with("verb", json!({"id": "http://example.com/verbs/rare"}));
    target["actor"] = json!({"mbox": "mailto:rare@example.com"});
    target["object"] = json!({"id": "http://example.com/activities/rare"});
    target["context"] = json!({"registration": registration,
        "contextActivities": {"parent": [{"id": "http://example.com/activities/course"}]}});
    // Referrer first, then its target.
    let early_referrer = post(&app, &refer(&late_id)).await;
    let mut late_target = target.clone();
    late_target["id"] = json!(late_id);
    post(&app, &late_target).await;
    // Target first, then its referrer.
    let early_target = post(&app, &target).await;
    let late_referrer = post(&app, &refer(&early_target[0])).await;
    // Both in one batch, the referrer before its target.
    let batch_id = uuid::Uuid::new_v4().to_string();
    let mut batch_target = target.clone();
    batch_target["id"] = json!(batch_id);
    let batch = post(&app, &json!([refer(&batch_id), batch_target])).await;

    let mut expected = vec![
        batch[1].clone(),
        batch[0].clone(),
        late_referrer[0].clone(),
        early_target[0].clone(),
        late_id.clone(),
        early_referrer[0].clone(),
    ];
    expected.dedup();
    for filter in [
        format!("verb={}", urlencode("http://example.com/verbs/rare")),
        format!(
            "agent={}",
            urlencode(r#"{"mbox":"mailto:rare@example.com"}"#)
        ),
        format!(
            "activity={}",
            urlencode("http://example.com/activities/rare")
        ),
        format!(
            "activity={}&related_activities=true",
            urlencode("http://example.com/activities/course")
        ),
        format!("registration={registration}"),
    ] {
        let got = ids(&query(&app, V2, &filter).await);
        assert_eq!(got, expected, "{filter}");
    }
    // The referrers' own properties do not match through the targets.
    let commented = ids(&query(
        &app,
        V2,
        &format!(
            "verb={}",
            urlencode("http://adlnet.gov/expapi/verbs/commented")
        ),
    )
    .await);
    assert_eq!(
        commented,
        vec![
            batch[0].clone(),
            late_referrer[0].clone(),
            early_referrer[0].clone()
        ]
    );
}

#[tokio::test]
async fn voided_statements_are_hidden_but_statements_targeting_them_match() {
    let app = spawn_app().await;
    let verb_iri = "http://example.com/verbs/special";
    let target = post(&app, &statement_with("verb", json!({"id": verb_iri}))).await;
    let voiding = post(
        &app,
        &json!({"actor": {"mbox": "mailto:admin@example.com"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                "object": {"objectType": "StatementRef", "id": target[0]}}),
    )
    .await;
    let verb = urlencode(verb_iri);
    let result = ids(&query(&app, V1, &format!("verb={verb}")).await);
    assert_eq!(
        result, voiding,
        "the voiding statement matches through its target"
    );
}

#[tokio::test]
async fn invalid_query_parameters_are_400() {
    let app = spawn_app().await;
    for (q, why) in [
        ("agent=notjson", "agent must be JSON"),
        ("agent=%7B%22name%22%3A%22x%22%7D", "agent without an IFI"),
        ("verb=not%20an%20iri", "verb must be an IRI"),
        ("registration=nope", "registration must be a UUID"),
        ("since=yesterday", "since must be a timestamp"),
        ("limit=-1", "limit must be non-negative"),
        ("ascending=yes", "ascending must be true/false"),
        ("format=full", "format must be exact/ids/canonical"),
        ("LIMIT=1", "parameter names are case-sensitive"),
        (
            "statementId=9e13cefd-53d3-4eac-b5ed-2cf6693903bb&verb=http%3A%2F%2Fx.org%2Fv",
            "single-statement parameter with a filter",
        ),
    ] {
        let r = app
            .request(Method::GET, &format!("/xapi/statements?{q}"), V2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{why}: {q}");
        assert!(r
            .headers()
            .contains_key("x-experience-api-consistent-through"));
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().len() > 5, "{why}");
    }
}

#[tokio::test]
async fn formats_ids_and_canonical() {
    let app = spawn_app().await;
    let mut s = statement();
    s["verb"]["display"] = json!({"en-US": "attempted", "fr-FR": "a tenté"});
    let id = post(&app, &s).await;
    let r = app
        .request(
            Method::GET,
            &format!("/xapi/statements?statementId={}&format=ids", id[0]),
            V1,
        )
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["actor"],
        json!({"objectType": "Agent", "mbox": "mailto:ann@example.com"})
    );
    assert_eq!(
        body["verb"],
        json!({"id": "http://adlnet.gov/expapi/verbs/attempted"})
    );
    let r = app
        .request(
            Method::GET,
            &format!("/xapi/statements?statementId={}&format=canonical", id[0]),
            V1,
        )
        .header("Accept-Language", "fr-FR")
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["verb"]["display"], json!({"fr-FR": "a tenté"}));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
