//! The fast path against the reference path.
use serde_json::{json, Value};

use super::{flatten, reference, Flat};

/// The fast path alone (`None` when it hands the statement to the reference path).
fn fast(json: &str) -> Option<Flat<'_>> {
    super::fast::parse(json)
}

fn same(v: &Value) -> bool {
    // PostgreSQL's jsonb text: `", "` and `": "` separators.
    let text = v
        .to_string()
        .replace("\",\"", "\", \"")
        .replace("\":", "\": ");
    let reference = reference(v);
    assert_eq!(flatten(&text), reference, "{text}");
    match fast(&text) {
        Some(f) => {
            assert_eq!(f, reference, "{text}");
            true
        }
        None => false,
    }
}

#[test]
fn the_fast_path_reads_the_cmi5_samples_as_the_reference_does() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cmi5");
    let mut n = 0;
    for scenario in std::fs::read_dir(dir).unwrap() {
        let scenario = scenario.unwrap().path();
        if !scenario.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(scenario).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(same(&v), "fell back on {text}");
            n += 1;
        }
    }
    assert!(n > 5);
}

#[test]
fn the_fast_path_agrees_with_the_reference_on_every_shape() {
    let quiz = json!({
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"objectType": "Agent", "name": "Ann \"A\" Lee\n", "mbox": "mailto:Ann@Example.COM"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered",
                 "display": {"fr": "a répondu", "de": "beantwortet"}},
        "object": {"id": "http://example.com/q/1", "objectType": "Activity",
                   "definition": {"type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                  "name": {"und": "Q1", "en": "Question 1"},
                                  "interactionType": "choice",
                                  "correctResponsesPattern": ["a[,]b", "c"],
                                  "choices": [{"id": "a", "description": {"en-US": "A"}}]}},
        "result": {"response": "a[,]b", "success": true, "completion": false,
                   "score": {"scaled": 0.5, "raw": "5", "min": 0, "max": 1e1},
                   "duration": "PT1M2.5S",
                   "extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 40,
                                  "https://w3id.org/xapi/video/extensions/played-segments": "0[.]5[,]3[.]9",
                                  "https://w3id.org/xapi/video/extensions/time": "9.5",
                                  "http://example.com/other": {"deep": [1, 2, {"x": null}]}}},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                    "platform": "Moodle", "language": "en-GB",
                    "contextActivities": {
                        "parent": [{"id": "http://example.com/quiz/9"}, {"id": "http://example.com/quiz/1"}],
                        "grouping": [{"id": "https://w3id.org/xapi/cmi5/x"},
                                     {"id": "http://example.com/course/b"},
                                     {"id": "http://example.com/course/a", "objectType": "Activity"}],
                        "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]},
                    "extensions": {"https://w3id.org/xapi/cmi5/context/extensions/sessionid": 17,
                                   "https://w3id.org/xapi/video/extensions/session-id": "v-1",
                                   "https://w3id.org/xapi/video/extensions/length": "120"}},
        "authority": {"objectType": "Agent", "account": {"homePage": "http://cairn", "name": "key 1"}},
        "timestamp": "2026-11-27T10:00:00Z"
    });
    assert!(same(&quiz));

    let mut variants = Vec::new();
    let mut v = quiz.clone();
    v["actor"] = json!({"objectType": "Group", "member": [{"mbox": "mailto:m@x.org"}],
                        "mbox_sha1sum": "ABCDEF"});
    variants.push(v);
    let mut v = quiz.clone();
    v["actor"] = json!({"openid": "http://id.example.com/ann", "name": null});
    variants.push(v);
    let mut v = quiz.clone();
    v["actor"] = json!({"account": {"homePage": "http://x.org"}});
    variants.push(v);
    let mut v = quiz.clone();
    v["object"] =
        json!({"objectType": "Agent", "account": {"homePage": "http://x.org", "name": "n"}});
    variants.push(v);
    let mut v = quiz.clone();
    v["verb"] =
        json!({"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}});
    v["object"] =
        json!({"objectType": "StatementRef", "id": "8a6f5b8e-6e0f-4a41-9d7c-6f1f4c2b7c11"});
    variants.push(v);
    let mut v = quiz.clone();
    v["object"] = json!({"objectType": "SubStatement", "actor": {"mbox": "mailto:s@x.org"},
                         "verb": {"id": "http://x.org/v"}, "object": {"id": "http://x.org/o"},
                         "context": {"contextActivities": {"parent": [{"id": "http://x.org/p"}]}}});
    variants.push(v);
    let mut v = quiz.clone();
    v["verb"]["display"] = json!({"zh": 1, "ab": "first"});
    v["object"]["definition"]["name"] = json!({"en-US": 5, "en": "five"});
    variants.push(v);
    let mut v = quiz.clone();
    v["result"]["response"] = json!(42);
    v["result"]["score"] = json!({"raw": "x", "scaled": null, "max": true});
    v["result"]["duration"] = json!("not a duration");
    v["context"]["registration"] = Value::Null;
    v["context"]["contextActivities"] =
        json!({"grouping": [], "parent": [null, {"definition": {}}]});
    variants.push(v);
    let mut v = quiz.clone();
    v["context"]["extensions"] = json!({});
    v["result"]["extensions"] = json!({"https://w3id.org/xapi/video/extensions/progress": 0.25});
    variants.push(v);
    for key in ["result", "context", "object", "verb", "actor", "authority"] {
        let mut v = quiz.clone();
        v.as_object_mut().unwrap().remove(key);
        variants.push(v);
    }
    for v in &variants {
        assert!(same(v), "fell back on {v}");
    }

    // Shapes only the reference path reads (the fast path must hand them over).
    let mut odd = Vec::new();
    let mut v = quiz.clone();
    v["actor"]["mbox"] = json!(7);
    odd.push(v);
    let mut v = quiz.clone();
    v["context"]["contextActivities"]["parent"] = json!({"id": "http://x.org/single"});
    odd.push(v);
    let mut v = quiz.clone();
    v["result"]["extensions"] = json!(["not", "an", "object"]);
    odd.push(v);
    let mut v = quiz.clone();
    v["result"]["success"] = json!("yes");
    odd.push(v);
    let mut v = quiz.clone();
    v["object"]["objectType"] = json!(["Agent"]);
    odd.push(v);
    odd.push(json!(["not", "a", "statement"]));
    odd.push(json!("text"));
    for v in &odd {
        assert!(!same(v), "the fast path took {v}");
    }
    assert_eq!(flatten("not json"), reference(&Value::Null));
    let dup = r#"{"actor": {"mbox": "mailto:a@x.org", "mbox": "mailto:b@x.org"}}"#;
    assert_eq!(
        flatten(dup).actor_ifi.as_deref(),
        Some("mbox:mailto:b@x.org")
    );
}

#[test]
fn course_and_parents_come_from_context_activities() {
    let v = json!({"context": {"contextActivities": {
        "parent": [{"id": "http://x.org/p2"}, {"id": "http://x.org/p1"}],
        "grouping": [{"id": "https://w3id.org/xapi/cmi5/a"}, {"id": "http://x.org/c2"}, {"id": "http://x.org/c1"}]}}});
    let f = reference(&v);
    assert_eq!(f.course_iri.as_deref(), Some("http://x.org/c1"));
    assert_eq!(f.parent_iris, vec!["http://x.org/p2", "http://x.org/p1"]);
    assert!(same(&v));
}
