//! xAPI 1.0.3 Communication §2.2 Document Resources, §2.3 State, §2.6 Agent Profile and §2.7
//! Activity Profile Resources (xAPI 2.0 §4.1.6.2, §4.1.6.5, §4.1.6.6), Data §1 documents, and
//! §1.1 HEAD on them.

use cairn::auth::Scope;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, VERSIONS};

pub const ACTIVITY: &str = "http://example.com/activities/documents";

pub fn agent() -> Value {
    json!({"objectType": "Agent", "name": "Dee", "mbox": "mailto:dee@example.com"})
}

/// The three Document Resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    State,
    ActivityProfile,
    AgentProfile,
}

pub const RESOURCES: [Res; 3] = [Res::State, Res::ActivityProfile, Res::AgentProfile];

impl Res {
    pub fn path(self) -> &'static str {
        match self {
            Res::State => "/xapi/activities/state",
            Res::ActivityProfile => "/xapi/activities/profile",
            Res::AgentProfile => "/xapi/agents/profile",
        }
    }

    pub fn id_param(self) -> &'static str {
        match self {
            Res::State => "stateId",
            _ => "profileId",
        }
    }

    /// The parameters naming the context (everything but the document id).
    pub fn context(self) -> Vec<(&'static str, String)> {
        match self {
            Res::State => vec![
                ("activityId", ACTIVITY.to_string()),
                ("agent", agent().to_string()),
            ],
            Res::ActivityProfile => vec![("activityId", ACTIVITY.to_string())],
            Res::AgentProfile => vec![("agent", agent().to_string())],
        }
    }

    pub fn params(self, id: &str) -> Vec<(&'static str, String)> {
        let mut p = self.context();
        p.push((self.id_param(), id.to_string()));
        p
    }
}

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A request to a Document Resource with these query parameters.
pub fn doc(
    app: &TestApp,
    method: Method,
    res: Res,
    version: &str,
    params: &[(&str, String)],
) -> RequestBuilder {
    app.request(method, res.path(), version).query(params)
}

/// Creates a document with `If-None-Match: *`, which every version accepts for a new document.
pub async fn create(app: &TestApp, res: Res, version: &str, id: &str, ct: &str, body: &[u8]) {
    let response = doc(app, Method::PUT, res, version, &res.params(id))
        .header("If-None-Match", "*")
        .header("Content-Type", ct)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{res:?} {version}: create");
}

pub async fn fetch(app: &TestApp, res: Res, version: &str, id: &str) -> Response {
    doc(app, Method::GET, res, version, &res.params(id))
        .send()
        .await
        .unwrap()
}

/// The stored bytes of a document, asserting it exists.
pub async fn content(app: &TestApp, res: Res, version: &str, id: &str) -> Vec<u8> {
    let response = fetch(app, res, version, id).await;
    assert_eq!(response.status(), 200, "{res:?} {version}: GET {id}");
    response.bytes().await.unwrap().to_vec()
}

/// Asserts a status and a JSON error body with a message (Communication §3.2).
pub async fn expect_error(response: Response, status: u16, what: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{what}");
    let text = response.text().await.unwrap();
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: body is not JSON: {text}"));
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message: {body}"
    );
    body
}

/// Communication §2.3.s3, §2.6.s3, §2.7.s3: PUT stores (204), GET returns the document (200),
/// DELETE removes it (204), after which GET is 404 (§3.2.s3 "404 Not Found ... State, Agent
/// Profile, or Activity Profile Resource request targeting a specific document").
#[tokio::test]
async fn communication_2_3_2_6_2_7_put_get_delete_round_trip() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            let body = br#"{"x":"foo","y":[1,2]}"#;
            create(&app, res, version, &id, "application/json", body).await;
            let got = fetch(&app, res, version, &id).await;
            assert_eq!(got.status(), 200);
            assert_eq!(header(&got, "Content-Type"), Some("application/json"));
            assert_eq!(got.bytes().await.unwrap().as_ref(), body);
            let deleted = doc(&app, Method::DELETE, res, version, &res.params(&id))
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status(), 204, "{res:?} {version}: DELETE");
            let gone = fetch(&app, res, version, &id).await;
            expect_error(gone, 404, &format!("{res:?} {version}: GET after DELETE")).await;
        }
    }
}

/// Data §1 / Communication §2.2.s2: "contents: Arbitrary binary data" — documents keep their
/// exact bytes and Content-Type, JSON or not; §2.2.s4.b2: no prior knowledge of the Activity or
/// Agent is needed.
#[tokio::test]
async fn data_1_documents_keep_exact_bytes_and_content_type() {
    let app = spawn_app().await;
    let binary: Vec<u8> = (0..=255u8).rev().collect();
    let cases: [(&str, &[u8]); 3] = [
        ("application/octet-stream", &binary),
        ("text/plain; charset=utf-8", "héllo\r\n wörld ".as_bytes()),
        // Whitespace and key order of JSON are kept as sent.
        ("application/json", b"{ \"b\" : 1,\n  \"a\" : 2 }"),
    ];
    for version in VERSIONS {
        for res in RESOURCES {
            for (ct, body) in cases {
                let id = new_id();
                create(&app, res, version, &id, ct, body).await;
                let got = fetch(&app, res, version, &id).await;
                assert_eq!(header(&got, "Content-Type"), Some(ct), "{res:?} {version}");
                assert_eq!(got.bytes().await.unwrap().as_ref(), body, "{res:?} {ct}");
            }
        }
    }
}

/// Communication §2.2.s7: POST of a JSON Object to an existing JSON document sets each posted
/// top-level property (whole values replaced, nothing merged deeper); §2.2.s8.b2: 204.
#[tokio::test]
async fn communication_2_2_s7_post_merges_top_level_properties() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            let original = json!({"x": "foo", "y": "bar", "o": {"a": 1, "b": 2}});
            create(
                &app,
                res,
                version,
                &id,
                "application/json",
                original.to_string().as_bytes(),
            )
            .await;
            let posted = doc(&app, Method::POST, res, version, &res.params(&id))
                .json(&json!({"x": "bash", "z": "faz", "o": {"a": 3}}))
                .send()
                .await
                .unwrap();
            assert_eq!(posted.status(), 204, "{res:?} {version}");
            let merged: Value =
                serde_json::from_slice(&content(&app, res, version, &id).await).unwrap();
            assert_eq!(
                merged,
                json!({"x": "bash", "y": "bar", "z": "faz", "o": {"a": 3}}),
                "{res:?} {version}"
            );
        }
    }
}

/// Communication §2.2.s7 (ADL XAPI-00233): a POST to a document that does not exist stores it
/// as a PUT would.
#[tokio::test]
async fn communication_2_2_s7_post_to_missing_document_creates_it() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            let posted = doc(&app, Method::POST, res, version, &res.params(&id))
                .json(&json!({"a": 1}))
                .send()
                .await
                .unwrap();
            assert_eq!(posted.status(), 204, "{res:?} {version}");
            let stored: Value =
                serde_json::from_slice(&content(&app, res, version, &id).await).unwrap();
            assert_eq!(stored, json!({"a": 1}));
        }
    }
}

/// Communication §2.2.s8.b1: "If the document being posted or any existing document does not
/// have a Content-Type of application/json, or if either document cannot be parsed as a JSON
/// Object, the LRS MUST respond with HTTP status code 400 Bad Request, and MUST NOT update the
/// target document".
#[tokio::test]
async fn communication_2_2_s8_b1_post_merge_of_non_json_objects_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    // (stored type, stored body, posted type, posted body, why)
    type Case<'a> = (&'a str, &'a [u8], &'a str, &'a [u8], &'a str);
    let cases: [Case; 5] = [
        (
            "text/plain",
            b"plain",
            "application/json",
            b"{\"a\":1}",
            "stored is not JSON",
        ),
        (
            "application/json",
            b"{\"a\":1}",
            "text/plain",
            b"{\"b\":2}",
            "posted is not JSON",
        ),
        (
            "application/json",
            b"{\"a\":1}",
            "application/json",
            b"{\"b\":",
            "posted invalid JSON",
        ),
        (
            "application/json",
            b"{\"a\":1}",
            "application/json",
            b"[1,2]",
            "posted an array",
        ),
        (
            "application/json",
            b"[1,2]",
            "application/json",
            b"{\"b\":2}",
            "stored an array",
        ),
    ];
    for version in VERSIONS {
        for res in RESOURCES {
            for (stored_type, stored, posted_type, posted, why) in cases {
                let id = new_id();
                create(&app, res, version, &id, stored_type, stored).await;
                let response = doc(&app, Method::POST, res, version, &res.params(&id))
                    .header("Content-Type", posted_type)
                    .body(posted.to_vec())
                    .send()
                    .await
                    .unwrap();
                expect_error(response, 400, &format!("{res:?} {version}: {why}")).await;
                assert_eq!(content(&app, res, version, &id).await, stored, "{why}");
            }
        }
    }
}

/// Communication §2.3.s4, §2.6.s4, §2.7.s4: GET without the document id returns the array of
/// ids; with `since`, only documents stored or updated after it (exclusive). §2.2.s6.b2: the
/// Last-Modified of the most recently modified document.
#[tokio::test]
async fn communication_2_3_s4_get_without_id_lists_ids_since() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            // A context of its own, so that other tests' documents do not show.
            let activity = format!("{ACTIVITY}/{}", new_id());
            let agent = json!({"mbox": format!("mailto:{}@example.com", new_id())});
            let context: Vec<(&str, String)> = res
                .context()
                .into_iter()
                .map(|(k, _)| match k {
                    "activityId" => (k, activity.clone()),
                    _ => (k, agent.to_string()),
                })
                .collect();
            let put = |id: &str| {
                let mut p = context.clone();
                p.push((res.id_param(), id.to_string()));
                doc(&app, Method::PUT, res, version, &p)
                    .header("If-None-Match", "*")
                    .json(&json!({"id": id}))
                    .send()
            };
            let list = |since: Option<String>| {
                let mut p = context.clone();
                if let Some(s) = since {
                    p.push(("since", s));
                }
                doc(&app, Method::GET, res, version, &p).send()
            };
            let empty = list(None).await.unwrap();
            assert_eq!(empty.status(), 200);
            assert_eq!(empty.json::<Value>().await.unwrap(), json!([]));

            assert_eq!(put("first").await.unwrap().status(), 204);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let between = chrono::Utc::now();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            assert_eq!(put("second").await.unwrap().status(), 204);

            let all = list(None).await.unwrap();
            assert_eq!(all.status(), 200);
            assert!(header(&all, "Last-Modified").is_some(), "{res:?}");
            let mut ids: Vec<String> = all.json().await.unwrap();
            ids.sort();
            assert_eq!(ids, ["first", "second"], "{res:?} {version}");

            let since = between.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let recent: Vec<String> = list(Some(since)).await.unwrap().json().await.unwrap();
            assert_eq!(recent, ["second"], "{res:?} {version}: since");
        }
    }
}

/// Communication §2.3.s3: a State document lives in the context of Activity, Agent and
/// registration; §2.3.s5: DELETE without stateId deletes every document of the context (with a
/// registration, only that registration's).
#[tokio::test]
async fn communication_2_3_s5_registration_scopes_state_and_delete_without_state_id() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let activity = format!("{ACTIVITY}/{}", new_id());
        let (reg_a, reg_b) = (new_id(), new_id());
        let params = |reg: Option<&str>, id: Option<&str>| {
            let mut p = vec![
                ("activityId", activity.clone()),
                ("agent", agent().to_string()),
            ];
            if let Some(r) = reg {
                p.push(("registration", r.to_string()));
            }
            if let Some(i) = id {
                p.push(("stateId", i.to_string()));
            }
            p
        };
        for (reg, body) in [
            (None, "none"),
            (Some(reg_a.as_str()), "a"),
            (Some(reg_b.as_str()), "b"),
        ] {
            let r = doc(
                &app,
                Method::PUT,
                Res::State,
                version,
                &params(reg, Some("bookmark")),
            )
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
            assert_eq!(r.status(), 204);
        }
        // The same stateId is a different document under each registration.
        for (reg, body) in [
            (None, "none"),
            (Some(reg_a.as_str()), "a"),
            (Some(reg_b.as_str()), "b"),
        ] {
            let r = doc(
                &app,
                Method::GET,
                Res::State,
                version,
                &params(reg, Some("bookmark")),
            )
            .send()
            .await
            .unwrap();
            assert_eq!(r.text().await.unwrap(), body);
        }
        // Without a registration the ids of every registration are listed, each once.
        let ids: Vec<String> = doc(&app, Method::GET, Res::State, version, &params(None, None))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ids, ["bookmark"]);
        let deleted = doc(
            &app,
            Method::DELETE,
            Res::State,
            version,
            &params(Some(&reg_a), None),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(deleted.status(), 204);
        let gone = doc(
            &app,
            Method::GET,
            Res::State,
            version,
            &params(Some(&reg_a), Some("bookmark")),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(gone.status(), 404, "registration a deleted");
        let kept = doc(
            &app,
            Method::GET,
            Res::State,
            version,
            &params(Some(&reg_b), Some("bookmark")),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(kept.status(), 200, "registration b kept");
        // Without a registration, the context is the Activity and Agent: everything goes.
        let all = doc(
            &app,
            Method::DELETE,
            Res::State,
            version,
            &params(None, None),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(all.status(), 204);
        let ids: Vec<String> = doc(&app, Method::GET, Res::State, version, &params(None, None))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(ids.is_empty(), "{ids:?}");
    }
}

/// Parameter rules of Communication §2.3–§2.7 (required parameters, Agent objects with an IFI,
/// UUID registrations, IRI activityIds, timestamps for since) and §3.2.s3.b7 (unknown
/// parameters): each violation is 400 with a JSON message.
#[tokio::test]
async fn communication_2_3_2_6_2_7_invalid_parameters_are_400() {
    let app = spawn_app().await;
    let a = agent().to_string();
    let act = ACTIVITY.to_string();
    let s = |v: &str| v.to_string();
    let no_ifi = json!({"objectType": "Agent", "name": "nobody"}).to_string();
    let group = json!({"objectType": "Group", "mbox": "mailto:g@example.com"}).to_string();
    let two_ifis = json!({"mbox": "mailto:x@example.com", "openid": "http://openid.example.com/x"})
        .to_string();
    type Case = (Res, Method, Vec<(&'static str, String)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            Res::State,
            Method::PUT,
            vec![("agent", a.clone()), ("stateId", s("x"))],
            "state PUT without activityId",
        ),
        (
            Res::State,
            Method::POST,
            vec![("agent", a.clone()), ("stateId", s("x"))],
            "state POST without activityId",
        ),
        (
            Res::State,
            Method::GET,
            vec![("agent", a.clone())],
            "state GET without activityId",
        ),
        (
            Res::State,
            Method::DELETE,
            vec![("agent", a.clone())],
            "state DELETE without activityId",
        ),
        (
            Res::State,
            Method::PUT,
            vec![("activityId", act.clone()), ("stateId", s("x"))],
            "state PUT without agent",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", act.clone())],
            "state GET without agent",
        ),
        (
            Res::State,
            Method::DELETE,
            vec![("activityId", act.clone())],
            "state DELETE without agent",
        ),
        (
            Res::State,
            Method::PUT,
            vec![("activityId", act.clone()), ("agent", a.clone())],
            "state PUT without stateId",
        ),
        (
            Res::State,
            Method::POST,
            vec![("activityId", act.clone()), ("agent", a.clone())],
            "state POST without stateId",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", act.clone()), ("agent", s("{not json"))],
            "agent not JSON",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", act.clone()), ("agent", no_ifi.clone())],
            "agent without IFI",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", act.clone()), ("agent", two_ifis.clone())],
            "agent with two IFIs",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", act.clone()), ("agent", group.clone())],
            "agent is a Group",
        ),
        (
            Res::State,
            Method::GET,
            vec![
                ("activityId", act.clone()),
                ("agent", s("{\"mbox\":\"dee@example.com\"}")),
            ],
            "mbox without mailto",
        ),
        (
            Res::State,
            Method::PUT,
            vec![
                ("activityId", act.clone()),
                ("agent", a.clone()),
                ("stateId", s("x")),
                ("registration", s("not-a-uuid")),
            ],
            "registration not a UUID",
        ),
        (
            Res::State,
            Method::GET,
            vec![
                ("activityId", act.clone()),
                ("agent", a.clone()),
                ("since", s("yesterday")),
            ],
            "since not a timestamp",
        ),
        (
            Res::State,
            Method::GET,
            vec![("activityId", s("not an iri")), ("agent", a.clone())],
            "activityId not an IRI",
        ),
        (
            Res::State,
            Method::GET,
            vec![
                ("activityId", act.clone()),
                ("agent", a.clone()),
                ("profileId", s("x")),
            ],
            "unknown parameter",
        ),
        (
            Res::State,
            Method::PUT,
            vec![
                ("activityId", act.clone()),
                ("agent", a.clone()),
                ("stateId", s("x")),
                ("since", s("2020-01-01T00:00:00Z")),
            ],
            "since on PUT",
        ),
        (
            Res::ActivityProfile,
            Method::PUT,
            vec![("profileId", s("x"))],
            "activity profile PUT without activityId",
        ),
        (
            Res::ActivityProfile,
            Method::GET,
            vec![],
            "activity profile GET without activityId",
        ),
        (
            Res::ActivityProfile,
            Method::PUT,
            vec![("activityId", act.clone())],
            "activity profile PUT without profileId",
        ),
        (
            Res::ActivityProfile,
            Method::POST,
            vec![("activityId", act.clone())],
            "activity profile POST without profileId",
        ),
        (
            Res::ActivityProfile,
            Method::DELETE,
            vec![("activityId", act.clone())],
            "activity profile DELETE without profileId",
        ),
        (
            Res::ActivityProfile,
            Method::GET,
            vec![("activityId", act.clone()), ("agent", a.clone())],
            "agent on activity profile",
        ),
        (
            Res::AgentProfile,
            Method::PUT,
            vec![("profileId", s("x"))],
            "agent profile PUT without agent",
        ),
        (
            Res::AgentProfile,
            Method::GET,
            vec![],
            "agent profile GET without agent",
        ),
        (
            Res::AgentProfile,
            Method::DELETE,
            vec![("profileId", s("x"))],
            "agent profile DELETE without agent",
        ),
        (
            Res::AgentProfile,
            Method::PUT,
            vec![("agent", a.clone())],
            "agent profile PUT without profileId",
        ),
        (
            Res::AgentProfile,
            Method::DELETE,
            vec![("agent", a.clone())],
            "agent profile DELETE without profileId",
        ),
        (
            Res::AgentProfile,
            Method::GET,
            vec![("agent", group.clone())],
            "agent profile for a Group",
        ),
        (
            Res::AgentProfile,
            Method::GET,
            vec![("agent", no_ifi.clone())],
            "agent profile agent without IFI",
        ),
        (
            Res::AgentProfile,
            Method::GET,
            vec![("agent", a.clone()), ("since", s("2020-13-45"))],
            "agent profile bad since",
        ),
    ];
    for version in VERSIONS {
        for (res, method, params, why) in &cases {
            let response = doc(&app, method.clone(), *res, version, params)
                .header("If-None-Match", "*")
                .json(&json!({"a": 1}))
                .send()
                .await
                .unwrap();
            expect_error(response, 400, &format!("{version}: {why}")).await;
        }
    }
}

/// Communication §4.2 scopes: `state` reads and writes State, `profile` the two profile
/// resources, `all/read` only reads, and others get 403 (§3.2.s3 "403 Forbidden").
#[tokio::test]
async fn communication_4_2_document_scopes() {
    let app = spawn_app().await;
    let state = app.credential(&[Scope::State]).await;
    let profile = app.credential(&[Scope::Profile]).await;
    let all_read = app.credential(&[Scope::AllRead]).await;
    let statements = app
        .credential(&[Scope::StatementsWrite, Scope::StatementsRead])
        .await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            create(&app, res, version, &id, "application/json", b"{}").await;
            let may_write = |cred: &(String, String)| {
                (res == Res::State && cred == &state) || (res != Res::State && cred == &profile)
            };
            for (who, cred) in [
                ("state", &state),
                ("profile", &profile),
                ("all/read", &all_read),
                ("statements", &statements),
            ] {
                let what = format!("{res:?} {version} as {who}");
                let get = app
                    .request_as(cred, Method::GET, res.path(), version)
                    .query(&res.params(&id))
                    .send()
                    .await
                    .unwrap();
                let may_read = may_write(cred) || cred == &all_read;
                if may_read {
                    assert_eq!(get.status(), 200, "{what}: GET");
                } else {
                    expect_error(get, 403, &format!("{what}: GET")).await;
                }
                let post = app
                    .request_as(cred, Method::POST, res.path(), version)
                    .query(&res.params(&id))
                    .json(&json!({"who": who}))
                    .send()
                    .await
                    .unwrap();
                if may_write(cred) {
                    assert_eq!(post.status(), 204, "{what}: POST");
                } else {
                    expect_error(post, 403, &format!("{what}: POST")).await;
                }
            }
        }
    }
}

/// Communication §1.1.s3.b1: HEAD answers as GET would, without the body — for single
/// documents, id lists, 404s, and the Activities and Agents Resources.
#[tokio::test]
async fn communication_1_1_s3_b1_head_on_documents_activities_and_agents() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let mut paths: Vec<(&str, Vec<(&str, String)>)> = vec![
            (
                "/xapi/activities",
                vec![("activityId", ACTIVITY.to_string())],
            ),
            ("/xapi/agents", vec![("agent", agent().to_string())]),
        ];
        for res in RESOURCES {
            let id = new_id();
            create(&app, res, version, &id, "application/json", b"{\"a\":1}").await;
            paths.push((res.path(), res.params(&id)));
            paths.push((res.path(), res.context()));
        }
        for (path, params) in &paths {
            let get = app
                .request(Method::GET, path, version)
                .query(params)
                .send()
                .await
                .unwrap();
            let head = app
                .request(Method::HEAD, path, version)
                .query(params)
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), 200, "{path}");
            for name in [
                "Content-Type",
                "ETag",
                "Last-Modified",
                "X-Experience-API-Version",
            ] {
                assert_eq!(header(&head, name), header(&get, name), "{path} {name}");
            }
            assert!(head.bytes().await.unwrap().is_empty(), "{path}: HEAD body");
        }
        let missing = app
            .request(Method::HEAD, Res::State.path(), version)
            .query(&Res::State.params(&new_id()))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    }
}
