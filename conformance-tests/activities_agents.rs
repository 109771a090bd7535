//! xAPI 1.0.3 Communication §2.4 Agents Resource and §2.5 Activities Resource (xAPI 2.0
//! §4.1.6.3, §4.1.6.4), and cmi5 documents (cmi5 §10 LMS.LaunchData, §11 learner preferences)
//! stored and read back unchanged.

use cairn::auth::Scope;
use reqwest::Method;
use serde_json::{json, Value};

use crate::documents::{expect_error, header, new_id, sha1_hex, Res};
use crate::helpers::{spawn_app, statement, TestApp, VERSIONS};

async fn activity(app: &TestApp, version: &str, id: &str) -> Value {
    let response = app
        .request(Method::GET, "/xapi/activities", version)
        .query(&[("activityId", id)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET activity {id}");
    assert!(header(&response, "ETag").is_some());
    response.json().await.unwrap()
}

fn with_object(id: &str, definition: Value) -> Value {
    let mut s = statement();
    s["object"] = json!({"objectType": "Activity", "id": id, "definition": definition});
    s
}

/// §2.5.s1: "Loads the complete Activity Object specified" — the definition a statement gave.
#[tokio::test]
async fn communication_2_5_s1_returns_the_activity_with_its_definition() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = format!("http://example.com/activities/{}", new_id());
        let definition = json!({
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "name": {"en-US": "meeting"},
            "description": {"en-US": "a meeting"},
            "moreInfo": "http://example.com/more",
            "extensions": {"http://example.com/ext": {"room": 4}}
        });
        let s = with_object(&id, definition.clone());
        assert_eq!(app.post_statements(version, &s).await.status(), 200);
        assert_eq!(activity(&app, version, &id).await, s["object"]);
    }
}

/// §2.5 (ADL XAPI-00254): the Activity holds all the LRS knows from statements with the same
/// id — two statements with different languages give both languages (merged per language).
#[tokio::test]
async fn communication_2_5_definitions_merge_language_maps() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = format!("http://example.com/activities/{}", new_id());
        let first = with_object(
            &id,
            json!({"name": {"en-US": "meeting"}, "type": "http://a.example.com"}),
        );
        let second = with_object(
            &id,
            json!({"name": {"fr-FR": "réunion"}, "description": {"en-US": "d"}}),
        );
        let batch = json!([first, second]);
        assert_eq!(app.post_statements(version, &batch).await.status(), 200);
        let third = with_object(&id, json!({"name": {"en-US": "Meeting"}}));
        assert_eq!(app.post_statements(version, &third).await.status(), 200);
        let got = activity(&app, version, &id).await;
        assert_eq!(
            got["definition"],
            json!({
                "type": "http://a.example.com",
                "name": {"en-US": "Meeting", "fr-FR": "réunion"},
                "description": {"en-US": "d"}
            })
        );
        // The server remembers definitions it has stored: repeating a known one changes
        // nothing, and an older value sent again is still merged (the later one wins).
        assert_eq!(app.post_statements(version, &third).await.status(), 200);
        assert_eq!(activity(&app, version, &id).await, got);
        let again = with_object(&id, json!({"name": {"en-US": "meeting"}}));
        assert_eq!(app.post_statements(version, &again).await.status(), 200);
        let got = activity(&app, version, &id).await;
        assert_eq!(got["definition"]["name"]["en-US"], "meeting");
        assert_eq!(got["definition"]["name"]["fr-FR"], "réunion");
        // Back and forth: a definition the server has seen change nothing changes the
        // canonical one again once another definition has changed it.
        for name in ["Meeting", "meeting", "Meeting"] {
            let next = with_object(&id, json!({"name": {"en-US": name}}));
            assert_eq!(app.post_statements(version, &next).await.status(), 200);
            let got = activity(&app, version, &id).await;
            assert_eq!(got["definition"]["name"]["en-US"], name);
        }
    }
}

/// §2.5.s2.b1: "If an LRS does not have a canonical definition of the Activity to return, the
/// LRS SHOULD* still return an Activity Object when queried."
#[tokio::test]
async fn communication_2_5_s2_b1_unknown_activity_is_a_minimal_activity() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = format!("http://example.com/never-seen/{}", new_id());
        assert_eq!(
            activity(&app, version, &id).await,
            json!({"objectType": "Activity", "id": id})
        );
    }
}

/// 1.0.3 Communication §4.2 scope `define`: "If storing a Statement when this is not granted,
/// ids will be saved ... but SHOULD NOT update its internal representation of any Actors or
/// Activities." `all` includes `define`.
#[tokio::test]
async fn communication_4_2_only_define_scope_updates_definitions() {
    let app = spawn_app().await;
    let writer = app.credential(&[Scope::StatementsWrite]).await;
    let definer = app
        .credential(&[Scope::StatementsWrite, Scope::Define])
        .await;
    for version in VERSIONS {
        let id = format!("http://example.com/activities/{}", new_id());
        let post = |cred: &(String, String), name: &str| {
            app.request_as(cred, Method::POST, "/xapi/statements", version)
                .json(&with_object(&id, json!({"name": {"en-US": name}})))
                .send()
        };
        assert_eq!(post(&writer, "not canonical").await.unwrap().status(), 200);
        assert_eq!(
            activity(&app, version, &id).await,
            json!({"objectType": "Activity", "id": id})
        );
        assert_eq!(post(&definer, "canonical").await.unwrap().status(), 200);
        assert_eq!(
            activity(&app, version, &id).await["definition"],
            json!({"name": {"en-US": "canonical"}})
        );
        assert_eq!(post(&writer, "ignored").await.unwrap().status(), 200);
        assert_eq!(
            activity(&app, version, &id).await["definition"]["name"]["en-US"],
            "canonical"
        );
    }
}

/// §2.5.s1.table1.row1: activityId is required and an IRI; §3.2.s3.b7: unknown parameters are
/// rejected; other methods are not allowed.
#[tokio::test]
async fn communication_2_5_s1_activity_parameter_errors() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for (query, why) in [
            (vec![], "no activityId"),
            (vec![("activityId", "not an iri")], "not an IRI"),
            (
                vec![("activityId", "http://x.example.com"), ("agent", "{}")],
                "unknown parameter",
            ),
        ] {
            let response = app
                .request(Method::GET, "/xapi/activities", version)
                .query(&query)
                .send()
                .await
                .unwrap();
            expect_error(response, 400, why).await;
        }
        let put = app
            .request(Method::PUT, "/xapi/activities", version)
            .query(&[("activityId", "http://x.example.com")])
            .send()
            .await
            .unwrap();
        expect_error(put, 405, "PUT activities").await;
    }
}

async fn person(app: &TestApp, version: &str, agent: &Value) -> Value {
    let response = app
        .request(Method::GET, "/xapi/agents", version)
        .query(&[("agent", agent.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET agents {agent}");
    response.json().await.unwrap()
}

/// §2.4.s2: the Person object, its properties arrays (§2.4.s5, §2.4.s6.b1) holding the names
/// the LRS saw for the Agent in statements.
#[tokio::test]
async fn communication_2_4_s2_person_combines_names_from_statements() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let mbox = format!("mailto:{}@example.com", new_id());
        for name in ["Ann", "Ann Smith"] {
            let mut s = statement();
            s["actor"] = json!({"objectType": "Agent", "name": name, "mbox": mbox});
            assert_eq!(app.post_statements(version, &s).await.status(), 200);
        }
        let p = person(&app, version, &json!({"mbox": mbox})).await;
        assert_eq!(
            p,
            json!({"objectType": "Person", "name": ["Ann", "Ann Smith"], "mbox": [mbox]})
        );
    }
}

/// What a statement teaches is a side effect of storing it: a name PostgreSQL cannot index
/// (beyond its index row size) is not learned, and the statement is stored all the same, by
/// PUT and by POST, alone and in a batch.
#[tokio::test]
async fn a_name_too_long_to_learn_does_not_cost_the_statement() {
    let app = spawn_app().await;
    // 12,000 letters that compression cannot shrink below the index's 2,704 bytes.
    let mut x: u64 = 88_172_645_463_325_252;
    let name: String = (0..12_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    for version in VERSIONS {
        let mut s = statement();
        s["actor"] = json!({"name": name, "mbox": format!("mailto:{}@example.com", new_id())});
        let id = new_id();
        assert_eq!(app.put_statement(version, &id, &s).await.status(), 204);
        let posted = app.post_statements(version, &json!([s, statement()])).await;
        assert_eq!(posted.status(), 200);
        let ids: Vec<String> = posted.json().await.unwrap();
        for id in [&id, &ids[0]] {
            let got = app.get_statement(version, id).await;
            assert_eq!(got.status(), 200);
            let got: Value = got.json().await.unwrap();
            assert_eq!(got["actor"]["name"], json!(name));
        }
    }
}

/// §2.4.s3.b3: an Agent the LRS knows nothing about still gets a Person with what the request
/// gave, for each kind of identifier.
#[tokio::test]
async fn communication_2_4_s3_b3_unknown_agent_gets_a_person() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let sha = sha1_hex(b"mailto:unknown@example.com");
        let cases = [
            (
                json!({"mbox": "mailto:unknown@example.com", "name": "U"}),
                json!({"objectType": "Person", "name": ["U"], "mbox": ["mailto:unknown@example.com"]}),
            ),
            (
                json!({"mbox_sha1sum": sha}),
                json!({"objectType": "Person", "mbox_sha1sum": [sha]}),
            ),
            (
                json!({"openid": "http://openid.example.com/u"}),
                json!({"objectType": "Person", "openid": ["http://openid.example.com/u"]}),
            ),
            (
                json!({"objectType": "Agent", "account": {"homePage": "http://h.example.com", "name": "u"}}),
                json!({"objectType": "Person", "account": [{"homePage": "http://h.example.com", "name": "u"}]}),
            ),
        ];
        for (agent, expected) in cases {
            assert_eq!(person(&app, version, &agent).await, expected);
        }
    }
}

/// §2.4.s2.table1.row1: agent is required and is an Agent ("not a Person Object, nor is it a
/// Group") with one identifier; otherwise 400.
#[tokio::test]
async fn communication_2_4_s2_agent_parameter_errors() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let cases = [
            (None, "no agent"),
            (Some("{not json".to_string()), "not JSON"),
            (Some(json!({"name": "no ifi"}).to_string()), "no IFI"),
            (
                Some(json!({"objectType": "Group", "mbox": "mailto:g@example.com"}).to_string()),
                "Group",
            ),
            (
                Some(json!({"objectType": "Person", "mbox": ["mailto:p@example.com"]}).to_string()),
                "Person",
            ),
            (
                Some(json!({"account": {"homePage": "http://h.example.com"}}).to_string()),
                "incomplete account",
            ),
        ];
        for (agent, why) in cases {
            let mut request = app.request(Method::GET, "/xapi/agents", version);
            if let Some(a) = agent {
                request = request.query(&[("agent", a)]);
            }
            expect_error(request.send().await.unwrap(), 400, why).await;
        }
    }
}

/// cmi5 §10 and §11: an LMS stores `LMS.LaunchData` in the State Resource (activityId = the AU,
/// agent = the learner, registration, stateId `LMS.LaunchData`) and the learner preferences in
/// the Agent Profile Resource (profileId `cmi5LearnerPreferences`); the AU reads them back
/// unchanged. The documents are the cmi5 specification's samples.
#[tokio::test]
async fn cmi5_launch_data_and_learner_preferences_round_trip() {
    let launch_data: &[u8] = include_bytes!("fixtures/cmi5/LMS.LaunchData.json");
    let preferences: &[u8] = include_bytes!("fixtures/cmi5/cmi5LearnerPreferences.json");
    let app = spawn_app().await;
    let learner = json!({"objectType": "Agent", "name": "Learner's Name",
        "account": {"homePage": "http://example.org/", "name": "Learner"}});
    let au = "http://example.org/cmi5/lms-id/4756b42214cb0cb4825b3c9b5c15053d6a6cf7f5/81d641b3-a558-4498-b98a-d33e817179ae";
    for version in VERSIONS {
        let registration = new_id();
        let state = [
            ("activityId", au.to_string()),
            ("agent", learner.to_string()),
            ("registration", registration),
            ("stateId", "LMS.LaunchData".to_string()),
        ];
        let profile = [
            ("agent", learner.to_string()),
            ("profileId", "cmi5LearnerPreferences".to_string()),
        ];
        for (res, params, body) in [
            (Res::State, &state[..], launch_data),
            (Res::AgentProfile, &profile[..], preferences),
        ] {
            let put = app
                .request(Method::PUT, res.path(), version)
                .query(params)
                .header("Content-Type", "application/json")
                .header("If-None-Match", "*")
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(put.status(), 204, "{res:?} {version}");
            let got = app
                .request(Method::GET, res.path(), version)
                .query(params)
                .send()
                .await
                .unwrap();
            assert_eq!(got.status(), 200);
            assert_eq!(header(&got, "Content-Type"), Some("application/json"));
            let etag = format!("\"{}\"", sha1_hex(body));
            assert_eq!(header(&got, "ETag"), Some(etag.as_str()));
            assert_eq!(
                got.bytes().await.unwrap().as_ref(),
                body,
                "{res:?} {version}"
            );
            // Overwritten on a later launch with the ETag, as an LMS would.
            let again = app
                .request(Method::PUT, res.path(), version)
                .query(params)
                .header("Content-Type", "application/json")
                .header("If-Match", etag.as_str())
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 204);
            // Cleaned up, so that the next version's run creates it afresh.
            let deleted = app
                .request(Method::DELETE, res.path(), version)
                .query(params)
                .header("If-Match", etag.as_str())
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status(), 204);
        }
    }
}
