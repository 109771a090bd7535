//! xAPI 1.0.3 Data §2 (Statements) and §4 (special data types): what an LRS MUST reject and
//! what it MUST accept. Two table-driven tests; every case is sent under both version headers
//! unless it is about one version only.

use serde_json::{json, Value};

use crate::helpers::{remove_path, set_path, spawn_app, statement, TestApp, V1, V2, VERSIONS};

/// One statement the LRS must reject with 400.
struct Invalid {
    /// Requirement: section (and bullet) of xAPI 1.0.3 Data, or of 2.0 where marked.
    key: &'static str,
    /// Why the statement breaks it.
    why: &'static str,
    /// Version headers to send it under (both unless the rule is version-specific).
    versions: &'static [&'static str],
    /// The statement (or batch) to POST.
    body: Value,
    /// Expected prefix of the error's `path`.
    path: &'static str,
}

/// One statement the LRS must accept.
struct Valid {
    key: &'static str,
    why: &'static str,
    versions: &'static [&'static str],
    body: Value,
}

/// `statement()` with several dotted paths set.
fn with(changes: &[(&str, Value)]) -> Value {
    let mut s = statement();
    for (path, value) in changes {
        set_path(&mut s, path, value.clone());
    }
    s
}

/// `statement()` with a dotted path removed.
fn without(path: &str) -> Value {
    let mut s = statement();
    remove_path(&mut s, path);
    s
}

/// `statement()` with the key at `parent` (dotted, "" for the top level) renamed.
fn renamed(parent: &str, from: &str, to: &str) -> Value {
    let mut s = statement();
    let target = if parent.is_empty() {
        &mut s
    } else {
        parent.split('.').fold(&mut s, |v, p| v.get_mut(p).unwrap())
    };
    let map = target.as_object_mut().unwrap();
    let value = map.remove(from).unwrap();
    map.insert(to.to_string(), value);
    s
}

fn activity_object(definition: Value) -> Value {
    json!({"objectType": "Activity", "id": "http://example.com/activities/q1", "definition": definition})
}

fn component(id: &str) -> Value {
    json!({"id": id, "description": {"en-US": id}})
}

fn agent(email: &str) -> Value {
    json!({"objectType": "Agent", "mbox": format!("mailto:{email}")})
}

fn sub_statement() -> Value {
    json!({
        "objectType": "SubStatement",
        "actor": agent("sub@example.com"),
        "verb": {"id": "http://example.com/verbs/will-attempt", "display": {"en-US": "will attempt"}},
        "object": {"objectType": "Activity", "id": "http://example.com/activities/future"}
    })
}

fn sub_statement_with(key: &str, value: Value) -> Value {
    let mut s = sub_statement();
    s[key] = value;
    s
}

fn attachment() -> Value {
    json!({
        "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
        "display": {"en-US": "certificate"},
        "contentType": "application/pdf",
        "length": 12345,
        "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        "fileUrl": "http://example.com/files/certificate.pdf"
    })
}

fn attachment_without(key: &str) -> Value {
    let mut a = attachment();
    a.as_object_mut().unwrap().remove(key);
    json!([a])
}

const BOTH: &[&str] = &VERSIONS;
const ONLY_V1: &[&str] = &[V1];
const ONLY_V2: &[&str] = &[V2];
const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";
const SOME_ID: &str = "8f87ccde-bb56-4c2e-ab83-44982ef22df0";

fn invalid_cases() -> Vec<Invalid> {
    let case = |key, why, body, path| Invalid {
        key,
        why,
        versions: BOTH,
        body,
        path,
    };
    let mut cases = vec![
        // --- §2.2.s4.b1.b1: null values -------------------------------------------------
        case(
            "Data 2.2.s4.b1.b1",
            "actor.name is null",
            with(&[("actor.name", Value::Null)]),
            "$.actor",
        ),
        case(
            "Data 2.2.s4.b1.b1",
            "verb.display is null",
            with(&[("verb.display", Value::Null)]),
            "$.verb",
        ),
        case(
            "Data 2.2.s4.b1.b1",
            "a language map value is null",
            with(&[("verb.display", json!({"en-US": null}))]),
            "$.verb.display",
        ),
        case(
            "Data 2.2.s4.b1.b1",
            "context is null",
            with(&[("context", Value::Null)]),
            "$.context",
        ),
        case(
            "Data 2.2.s4.b1.b1",
            "result.success is null",
            with(&[("result.success", Value::Null)]),
            "$.result",
        ),
        case(
            "Data 2.2.s4.b1.b1",
            "statement id is null",
            with(&[("id", Value::Null)]),
            "$.id",
        ),
        // --- §2.2.s4.b1.b2/b3: wrong data types ------------------------------------------
        case(
            "Data 2.2.s4.b1.b2",
            "score.raw is a string containing a number",
            with(&[("result.score.raw", json!("10"))]),
            "$.result.score.raw",
        ),
        case(
            "Data 2.2.s4.b1.b2",
            "score.scaled is a string containing a number",
            with(&[("result.score.scaled", json!("0.5"))]),
            "$.result.score.scaled",
        ),
        case(
            "Data 2.2.s4.b1.b3",
            "result.success is a string containing a boolean",
            with(&[("result.success", json!("true"))]),
            "$.result.success",
        ),
        case(
            "Data 2.2.s4.b1.b3",
            "result.completion is a number, not a boolean",
            with(&[("result.completion", json!(1))]),
            "$.result.completion",
        ),
        case(
            "Data 2.2.s4.b1.b2",
            "actor.name is a number",
            with(&[("actor.name", json!(5))]),
            "$.actor.name",
        ),
        case(
            "Data 2.4.3 (display is a Language Map)",
            "verb.display is a plain string",
            with(&[("verb.display", json!("attempted"))]),
            "$.verb.display",
        ),
        case(
            "Data 2.2.s4.b1.b2",
            "actor is an array",
            with(&[("actor", json!([agent("a@example.com")]))]),
            "$.actor",
        ),
        case(
            "Data 2.4.11 (length is an Integer)",
            "attachment length is a string",
            {
                let mut a = attachment();
                a["length"] = json!("12345");
                with(&[("attachments", json!([a]))])
            },
            "$.attachments",
        ),
        // --- §2.2.s4.b1.b7 / b8: keys that are not allowed --------------------------------
        case(
            "Data 2.2.s4.b1.b7",
            "unknown top-level property",
            with(&[("foo", json!("bar"))]),
            "$",
        ),
        case(
            "Data 2.2.s4.b1.b7",
            "unknown property in the Agent",
            with(&[("actor.age", json!(30))]),
            "$.actor",
        ),
        case(
            "Data 2.2.s4.b1.b7",
            "unknown property in the Verb",
            with(&[("verb.name", json!("x"))]),
            "$.verb",
        ),
        case(
            "Data 2.2.s4.b1.b7",
            "unknown property in the Result",
            with(&[("result.grade", json!("A"))]),
            "$.result",
        ),
        case(
            "Data 2.2.s4.b1.b7",
            "unknown property in the Activity Definition",
            with(&[("object.definition.color", json!("red"))]),
            "$.object.definition",
        ),
        // --- §2.2.s4.b1.b5: key case -----------------------------------------------------
        case(
            "Data 2.2.s4.b1.b5",
            "key `Actor` instead of `actor`",
            renamed("", "actor", "Actor"),
            "$",
        ),
        case(
            "Data 2.2.s4.b1.b5",
            "key `ID` instead of `id` in the Verb",
            renamed("verb", "id", "ID"),
            "$.verb",
        ),
        case(
            "Data 2.2.s4.b1.b5",
            "key `objecttype` instead of `objectType` in the Activity",
            renamed("object", "objectType", "objecttype"),
            "$.object",
        ),
        // --- §2.2.s4.b1.b6: enumerated value case ---------------------------------------
        case(
            "Data 2.2.s4.b1.b6",
            "actor objectType `agent`",
            with(&[("actor.objectType", json!("agent"))]),
            "$.actor",
        ),
        case(
            "Data 2.2.s4.b1.b6",
            "object objectType `activity`",
            with(&[("object.objectType", json!("activity"))]),
            "$.object",
        ),
        case(
            "Data 2.2.s4.b1.b6",
            "object objectType `statementref`",
            with(&[(
                "object",
                json!({"objectType": "statementref", "id": SOME_ID}),
            )]),
            "$.object",
        ),
        case(
            "Data 2.2.s4.b1.b6",
            "interactionType `Choice`",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "Choice", "choices": [component("a")]})),
            )]),
            "$.object.definition",
        ),
        // --- §2.2.s2.b3: actor, verb, object required -----------------------------------
        case("Data 2.2.s2.b3", "no actor", without("actor"), "$"),
        case("Data 2.2.s2.b3", "no verb", without("verb"), "$"),
        case("Data 2.2.s2.b3", "no object", without("object"), "$"),
        // --- §2.4.2.1 / §2.4.2.3: Agents and their IFIs ---------------------------------
        case(
            "Data 2.4.2.1.s2.b2",
            "agent with two IFIs (mbox and openid)",
            with(&[("actor.openid", json!("http://openid.example.com/ann"))]),
            "$.actor",
        ),
        case(
            "Data 2.4.2.1.s2.b1",
            "agent without an IFI",
            without("actor.mbox"),
            "$.actor",
        ),
        case(
            "Data 2.4.2.3 (mbox is a mailto IRI), 2.2.s4.b1.b4",
            "mbox without mailto:",
            with(&[("actor.mbox", json!("ann@example.com"))]),
            "$.actor.mbox",
        ),
        case(
            "Data 2.2.s4.b1.b4",
            "mbox is the empty string",
            with(&[("actor.mbox", json!(""))]),
            "$.actor.mbox",
        ),
        case(
            "Data 2.4.2.3 (mbox_sha1sum is a hex SHA1)",
            "mbox_sha1sum that is not 40 hex digits",
            {
                let mut s = without("actor.mbox");
                s["actor"]["mbox_sha1sum"] = json!("not-a-sha1");
                s
            },
            "$.actor.mbox_sha1sum",
        ),
        case(
            "Data 2.4.2.3 (openid is a URI), 2.2.s4.b1.b8",
            "openid without a scheme",
            {
                let mut s = without("actor.mbox");
                s["actor"]["openid"] = json!("openid.example.com/ann");
                s
            },
            "$.actor.openid",
        ),
        case(
            "Data 2.4.2.4.s2 (homePage required)",
            "account without homePage",
            {
                let mut s = without("actor.mbox");
                s["actor"]["account"] = json!({"name": "ann"});
                s
            },
            "$.actor.account",
        ),
        case(
            "Data 2.4.2.4.s2 (name required)",
            "account without name",
            {
                let mut s = without("actor.mbox");
                s["actor"]["account"] = json!({"homePage": "http://lms.example.com"});
                s
            },
            "$.actor.account",
        ),
        case(
            "Data 2.4.2.4.s2 (homePage is an IRL), 2.2.s4.b1.b8",
            "account homePage without a scheme",
            {
                let mut s = without("actor.mbox");
                s["actor"]["account"] = json!({"homePage": "lms.example.com", "name": "ann"});
                s
            },
            "$.actor.account",
        ),
        // --- §2.4.2.2: Groups ------------------------------------------------------------
        case(
            "Data 2.4.2.2.s4.b1",
            "anonymous group without member",
            with(&[("actor", json!({"objectType": "Group", "name": "Team"}))]),
            "$.actor",
        ),
        case(
            "Data 2.4.2.2.s4.b2",
            "anonymous group with a Group member",
            with(&[(
                "actor",
                json!({"objectType": "Group", "member": [
                    agent("a@example.com"),
                    {"objectType": "Group", "member": [agent("b@example.com")]}
                ]}),
            )]),
            "$.actor.member",
        ),
        case(
            "Data 2.4.2.2.s5.b2",
            "identified group with a Group member",
            with(&[(
                "actor",
                json!({"objectType": "Group", "mbox": "mailto:team@example.com", "member": [
                    {"objectType": "Group", "mbox": "mailto:inner@example.com"}
                ]}),
            )]),
            "$.actor.member",
        ),
        case(
            "Data 2.4.2.2.s5.b1",
            "identified group with two IFIs",
            with(&[(
                "actor",
                json!({"objectType": "Group", "mbox": "mailto:team@example.com",
                       "openid": "http://openid.example.com/team"}),
            )]),
            "$.actor",
        ),
        case(
            "Data 2.4.2.1.s2.b1",
            "group member without an IFI",
            with(&[(
                "actor",
                json!({"objectType": "Group", "member": [{"name": "nobody"}]}),
            )]),
            "$.actor.member",
        ),
        // --- §2.4.3: Verb ----------------------------------------------------------------
        case(
            "Data 2.4.3 (id is an IRI), 2.2.s4.b1.b8",
            "verb id without a scheme",
            with(&[("verb.id", json!("attempted"))]),
            "$.verb.id",
        ),
        case(
            "Data 2.4.3 (id required)",
            "verb without id",
            without("verb.id"),
            "$.verb",
        ),
        case(
            "Data 2.2.s4.b2, 4.2",
            "display key that is not an RFC 5646 tag (`en_US`)",
            with(&[("verb.display", json!({"en_US": "attempted"}))]),
            "$.verb.display",
        ),
        case(
            "Data 2.2.s4.b2, 4.2",
            "display key that is not an RFC 5646 tag (`123`)",
            with(&[("verb.display", json!({"123": "attempted"}))]),
            "$.verb.display",
        ),
        // --- §2.4.4.1: Activities --------------------------------------------------------
        case(
            "Data 2.4.4.1 (id is an IRI), 2.2.s4.b1.b8",
            "activity id without a scheme",
            with(&[("object.id", json!("quiz"))]),
            "$.object.id",
        ),
        case(
            "Data 2.4.4.1 (id required)",
            "activity without id",
            without("object.id"),
            "$.object",
        ),
        case(
            "Data 2.4.4.1.s2 (type is an IRI)",
            "activity type without a scheme",
            with(&[("object.definition.type", json!("assessment"))]),
            "$.object.definition.type",
        ),
        case(
            "Data 2.4.4.1.s2 (moreInfo is an IRL)",
            "moreInfo without a scheme",
            with(&[("object.definition.moreInfo", json!("example.com/info"))]),
            "$.object.definition.moreInfo",
        ),
        case(
            "Data 2.2.s4.b2, 4.2",
            "activity name with an invalid language tag",
            with(&[("object.definition.name", json!({"not a tag": "Quiz"}))]),
            "$.object.definition.name",
        ),
        case(
            "Data 2.4.4.1.s13.b1",
            "interactionType that is not defined",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "essay"})),
            )]),
            "$.object.definition",
        ),
        case(
            "Data 2.4.4.1.s15 table 2, s13.b3",
            "true-false interaction with choices",
            with(&[(
                "object",
                activity_object(
                    json!({"interactionType": "true-false", "choices": [component("a")]}),
                ),
            )]),
            "$.object.definition",
        ),
        case(
            "Data 2.4.4.1.s15 table 2, s13.b3",
            "likert interaction with choices instead of scale",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "likert", "choices": [component("a")]})),
            )]),
            "$.object.definition",
        ),
        case(
            "Data 2.4.4.1.s15 table 2, s13.b3",
            "choice interaction with source/target",
            with(&[(
                "object",
                activity_object(
                    json!({"interactionType": "choice", "source": [component("a")],
                                       "target": [component("b")]}),
                ),
            )]),
            "$.object.definition",
        ),
        case(
            "Data 2.4.4.1.s16.b1",
            "duplicate interaction component ids",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "choice",
                                       "choices": [component("a"), component("a")]})),
            )]),
            "$.object.definition.choices",
        ),
        case(
            "Data 2.4.4.1.s15 (component id required)",
            "interaction component without id",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "choice",
                                       "choices": [{"description": {"en-US": "a"}}]})),
            )]),
            "$.object.definition.choices",
        ),
        case(
            "Data 2.4.4.1.s8 (correctResponsesPattern is an array of strings)",
            "correctResponsesPattern is a string",
            with(&[(
                "object",
                activity_object(
                    json!({"interactionType": "true-false", "correctResponsesPattern": "true"}),
                ),
            )]),
            "$.object.definition.correctResponsesPattern",
        ),
        // --- §2.4.4.2: Agent as object ---------------------------------------------------
        case(
            "Data 2.4.4.2.s1.b1",
            "Agent object without objectType (read as an Activity with an mbox)",
            with(&[("object", json!({"mbox": "mailto:bob@example.com"}))]),
            "$.object",
        ),
        // --- §2.4.4.3: StatementRef and SubStatement -------------------------------------
        case(
            "Data 2.4.4.3.s4.b2",
            "StatementRef id that is not a UUID",
            with(&[(
                "object",
                json!({"objectType": "StatementRef", "id": "not-a-uuid"}),
            )]),
            "$.object.id",
        ),
        case(
            "Data 2.4.4.3.s4.b2",
            "StatementRef without id",
            with(&[("object", json!({"objectType": "StatementRef"}))]),
            "$.object",
        ),
        case(
            "Data 2.4.4.3.s8.b3",
            "SubStatement with id",
            with(&[("object", sub_statement_with("id", json!(SOME_ID)))]),
            "$.object",
        ),
        case(
            "Data 2.4.4.3.s8.b3",
            "SubStatement with stored",
            with(&[(
                "object",
                sub_statement_with("stored", json!("2024-01-01T00:00:00Z")),
            )]),
            "$.object",
        ),
        case(
            "Data 2.4.4.3.s8.b3",
            "SubStatement with version",
            with(&[("object", sub_statement_with("version", json!("1.0.0")))]),
            "$.object",
        ),
        case(
            "Data 2.4.4.3.s8.b3",
            "SubStatement with authority",
            with(&[(
                "object",
                sub_statement_with("authority", agent("auth@example.com")),
            )]),
            "$.object",
        ),
        case(
            "Data 2.4.4.3.s8.b4",
            "SubStatement nested in a SubStatement",
            with(&[("object", sub_statement_with("object", sub_statement()))]),
            "$.object.object",
        ),
        case(
            "Data 2.4.4.3.s8.b2",
            "SubStatement without verb (validated as a Statement)",
            {
                let mut sub = sub_statement();
                sub.as_object_mut().unwrap().remove("verb");
                with(&[("object", sub)])
            },
            "$.object",
        ),
        // --- §2.3.2: voiding -------------------------------------------------------------
        case(
            "Data 2.3.2.s2.b1",
            "voiding statement whose object is an Activity",
            with(&[("verb.id", json!(VOIDED))]),
            "$.object",
        ),
        case(
            "Data 2.3.2.s2.b1",
            "voiding statement whose object is a SubStatement",
            with(&[("verb.id", json!(VOIDED)), ("object", sub_statement())]),
            "$.object",
        ),
        // --- §2.4.5: Result --------------------------------------------------------------
        case(
            "Data 2.4.5.1.s2 (scaled between -1 and 1)",
            "score.scaled above 1",
            with(&[("result.score.scaled", json!(1.5))]),
            "$.result.score",
        ),
        case(
            "Data 2.4.5.1.s2 (scaled between -1 and 1)",
            "score.scaled below -1",
            with(&[("result.score.scaled", json!(-1.01))]),
            "$.result.score",
        ),
        case(
            "Data 2.4.5.1.s2 (raw between min and max)",
            "score.raw above max",
            with(&[("result.score", json!({"raw": 11, "min": 0, "max": 10}))]),
            "$.result.score",
        ),
        case(
            "Data 2.4.5.1.s2 (raw between min and max)",
            "score.raw below min",
            with(&[("result.score", json!({"raw": -1, "min": 0, "max": 10}))]),
            "$.result.score",
        ),
        case(
            "Data 2.4.5.1.s2 (min less than max)",
            "score.min above max",
            with(&[("result.score", json!({"min": 10, "max": 5}))]),
            "$.result.score",
        ),
        case(
            "Data 4.6.s1.b1",
            "duration that is not ISO 8601 (`1 hour`)",
            with(&[("result.duration", json!("1 hour"))]),
            "$.result.duration",
        ),
        case(
            "Data 4.6.s1.b1",
            "duration with hours outside the time part (`P1H`)",
            with(&[("result.duration", json!("P1H"))]),
            "$.result.duration",
        ),
        case(
            "Data 4.6.s1.b1",
            "duration in the alternative format (`PT01:00:00`)",
            with(&[("result.duration", json!("PT01:00:00"))]),
            "$.result.duration",
        ),
        // --- §2.4.6: Context -------------------------------------------------------------
        case(
            "Data 2.4.6.s4.b1",
            "context.revision with an Agent object",
            with(&[
                ("object", agent("bob@example.com")),
                ("context.revision", json!("2")),
            ]),
            "$.context",
        ),
        case(
            "Data 2.4.6.s4.b2",
            "context.platform with an Agent object",
            with(&[
                ("object", agent("bob@example.com")),
                ("context.platform", json!("web")),
            ]),
            "$.context",
        ),
        case(
            "Data 2.4.6.s4.b1",
            "context.revision with a StatementRef object",
            with(&[
                (
                    "object",
                    json!({"objectType": "StatementRef", "id": SOME_ID}),
                ),
                ("context.revision", json!("2")),
            ]),
            "$.context",
        ),
        case(
            "Data 2.4.6.s3 (registration is a UUID), 4.4",
            "registration that is not a UUID",
            with(&[("context.registration", json!("registration-1"))]),
            "$.context.registration",
        ),
        case(
            "Data 4.4 (UUIDs MUST be in the standard string form)",
            "registration in braces",
            with(&[(
                "context.registration",
                json!("{ec531277-b57b-4c15-8d91-d292c5b2b8f7}"),
            )]),
            "$.context.registration",
        ),
        case(
            "Data 2.4.6.s3 (team is a Group)",
            "context.team that is an Agent",
            with(&[("context.team", agent("bob@example.com"))]),
            "$.context.team",
        ),
        case(
            "Data 2.4.6.2.s4.b1",
            "contextActivities key `parents`",
            with(&[(
                "context.contextActivities",
                json!({"parents": [{"id": "http://example.com/course"}]}),
            )]),
            "$.context.contextActivities",
        ),
        case(
            "Data 2.4.6.2.s4.b2",
            "contextActivities value that is a string",
            with(&[(
                "context.contextActivities",
                json!({"parent": "http://example.com/course"}),
            )]),
            "$.context.contextActivities.parent",
        ),
        case(
            "Data 2.4.6.s3 (language is RFC 5646)",
            "context.language `en_US`",
            with(&[("context.language", json!("en_US"))]),
            "$.context.language",
        ),
        case(
            "Data 2.4.6.s3 (statement is a StatementRef)",
            "context.statement with a bad id",
            with(&[(
                "context.statement",
                json!({"objectType": "StatementRef", "id": "nope"}),
            )]),
            "$.context.statement",
        ),
        case(
            "Data 2.4.6.s3 (instructor is an Agent)",
            "context.instructor without an IFI",
            with(&[("context.instructor", json!({"name": "Teacher"}))]),
            "$.context.instructor",
        ),
        // --- §2.4.7 / §4.5: timestamps ---------------------------------------------------
        case(
            "Data 4.5.s1.b1",
            "timestamp that is not ISO 8601",
            with(&[("timestamp", json!("yesterday"))]),
            "$.timestamp",
        ),
        case(
            "Data 4.5.s1.b1",
            "timestamp with month 13",
            with(&[("timestamp", json!("2024-13-01T00:00:00Z"))]),
            "$.timestamp",
        ),
        case(
            "Data 4.5.s1.b1 (RFC 3339 §4.3: -00:00 is an unknown offset)",
            "timestamp with a -00:00 offset",
            with(&[("timestamp", json!("2024-01-01T12:00:00-00:00"))]),
            "$.timestamp",
        ),
        case(
            "Data 4.4",
            "statement id that is not a UUID",
            with(&[("id", json!("statement-1"))]),
            "$.id",
        ),
        // --- §2.4.10: version ------------------------------------------------------------
        case(
            "Data 2.4.10.s3.b2",
            "statement version `0.9`",
            with(&[("version", json!("0.9"))]),
            "$.version",
        ),
        case(
            "Data 2.4.10.s3.b2",
            "statement version `1.1.0`",
            with(&[("version", json!("1.1.0"))]),
            "$.version",
        ),
        // --- §4.1: extensions ------------------------------------------------------------
        case(
            "Data 4.1.s3.b1",
            "result extension key that is not an IRI",
            with(&[("result.extensions", json!({"score-detail": 1}))]),
            "$.result.extensions",
        ),
        case(
            "Data 4.1.s3.b1",
            "context extension key that is not an IRI",
            with(&[("context.extensions", json!({"altitude": 100}))]),
            "$.context.extensions",
        ),
        case(
            "Data 4.1.s3.b1",
            "activity extension key that is not an IRI",
            with(&[("object.definition.extensions", json!({"level": "hard"}))]),
            "$.object.definition.extensions",
        ),
        // --- §2.4.11: attachments --------------------------------------------------------
        case(
            "Data 2.4.11.s2 (usageType required)",
            "attachment without usageType",
            with(&[("attachments", attachment_without("usageType"))]),
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (display required)",
            "attachment without display",
            with(&[("attachments", attachment_without("display"))]),
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (contentType required)",
            "attachment without contentType",
            with(&[("attachments", attachment_without("contentType"))]),
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (length required)",
            "attachment without length",
            with(&[("attachments", attachment_without("length"))]),
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (sha2 required, even with fileUrl)",
            "attachment without sha2",
            with(&[("attachments", attachment_without("sha2"))]),
            "$.attachments",
        ),
        // --- §2.4.9: authority -----------------------------------------------------------
        case(
            "Data 2.4.9.s3.b1",
            "authority that is an identified Group",
            with(&[(
                "authority",
                json!({"objectType": "Group", "mbox": "mailto:team@example.com"}),
            )]),
            "$.authority",
        ),
        // --- more format checks ---------------------------------------------------------
        case(
            "Data 2.4.2.3 (mbox is \"mailto:email address\")",
            "mbox without an address (`mailto:ann`)",
            with(&[("actor.mbox", json!("mailto:ann"))]),
            "$.actor.mbox",
        ),
        case(
            "Data 2.4.2.2 (Group requires objectType)",
            "group members on an actor without objectType Group",
            with(&[("actor", json!({"member": [agent("a@example.com")]}))]),
            "$.actor",
        ),
        case(
            "Data 2.4.2.1.s2.b1",
            "Agent object without an IFI",
            with(&[("object", json!({"objectType": "Agent", "name": "Bob"}))]),
            "$.object",
        ),
        case(
            "Data 2.2.s4.b1.b7",
            "Agent object with an Activity definition",
            with(&[(
                "object",
                json!({"objectType": "Agent", "mbox": "mailto:bob@example.com",
                                     "definition": {"name": {"en-US": "Bob"}}}),
            )]),
            "$.object",
        ),
        case(
            "Data 2.2.s4.b1.b4, 4.2",
            "language map with an empty key",
            with(&[("verb.display", json!({"": "attempted"}))]),
            "$.verb.display",
        ),
        case(
            "Data 2.2.s4.b2, 4.2",
            "interaction component description with an invalid language tag",
            with(&[(
                "object",
                activity_object(json!({"interactionType": "choice",
                                       "choices": [{"id": "a", "description": {"en_US": "A"}}]})),
            )]),
            "$.object.definition.choices",
        ),
        case(
            "Data 4.5.s1.b1",
            "timestamp on 30 February",
            with(&[("timestamp", json!("2024-02-30T00:00:00Z"))]),
            "$.timestamp",
        ),
        case(
            "Data 2.4.6.2.s4.b2",
            "contextActivities parent whose id is not an IRI",
            with(&[(
                "context.contextActivities",
                json!({"parent": [{"id": "course"}]}),
            )]),
            "$.context.contextActivities.parent",
        ),
        case(
            "Data 2.4.11.s2 (usageType is an IRI)",
            "attachment usageType without a scheme",
            {
                let mut a = attachment();
                a["usageType"] = json!("signature");
                with(&[("attachments", json!([a]))])
            },
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (fileUrl is an IRL)",
            "attachment fileUrl without a scheme",
            {
                let mut a = attachment();
                a["fileUrl"] = json!("files/certificate.pdf");
                with(&[("attachments", json!([a]))])
            },
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (contentType is an Internet Media Type)",
            "attachment contentType `pdf`",
            {
                let mut a = attachment();
                a["contentType"] = json!("pdf");
                with(&[("attachments", json!([a]))])
            },
            "$.attachments",
        ),
        case(
            "Data 2.4.11.s2 (attachments is an array)",
            "attachments is a single object",
            with(&[("attachments", attachment())]),
            "$.attachments",
        ),
        // --- Communication §3.2.s3.b9: one bad statement rejects the batch ---------------
        case(
            "Communication 3.2.s3.b9",
            "batch whose second statement has no verb",
            json!([statement(), without("verb")]),
            "$[1]",
        ),
    ];
    // Version-specific rules.
    cases.push(Invalid {
        key: "Data 2.4.10.s3.b2",
        why: "statement version `2.0.0` under a 1.0.3 header",
        versions: ONLY_V1,
        body: with(&[("version", json!("2.0.0"))]),
        path: "$.version",
    });
    cases.push(Invalid {
        key: "Data 2.2.s4.b1.b7 (contextAgents is xAPI 2.0 only)",
        why: "context.contextAgents under a 1.0.3 header",
        versions: ONLY_V1,
        body: with(&[("context.contextAgents", context_agents())]),
        path: "$.context",
    });
    cases.push(Invalid {
        key: "Data 2.2.s4.b1.b7 (contextGroups is xAPI 2.0 only)",
        why: "context.contextGroups under a 1.0.3 header",
        versions: ONLY_V1,
        body: with(&[("context.contextGroups", context_groups())]),
        path: "$.context",
    });
    cases
}

fn context_agents() -> Value {
    json!([{
        "objectType": "contextAgent",
        "agent": agent("mentor@example.com"),
        "relevantTypes": ["http://example.com/types/mentor"]
    }])
}

fn context_groups() -> Value {
    json!([{
        "objectType": "contextGroup",
        "group": {"objectType": "Group", "member": [agent("peer@example.com")]},
        "relevantTypes": ["http://example.com/types/peers"]
    }])
}

/// Checks one rejection; returns a description of what went wrong, if anything.
async fn check_rejected(app: &TestApp, case: &Invalid, version: &str) -> Option<String> {
    let before = app.statement_count().await;
    let response = app.post_statements(version, &case.body).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let after = app.statement_count().await;
    let label = format!("[{}] {} (header {version})", case.key, case.why);
    if status != 400 {
        return Some(format!("{label}: expected 400, got {status}: {text}"));
    }
    if after != before {
        return Some(format!(
            "{label}: rejected, but {} statement(s) stored",
            after - before
        ));
    }
    let body: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => return Some(format!("{label}: error body is not JSON: {text}")),
    };
    let message = body["message"].as_str().unwrap_or("");
    if message.trim().is_empty() {
        return Some(format!("{label}: error body has no message: {body}"));
    }
    match body["path"].as_str() {
        Some(path) if path.starts_with(case.path) => None,
        other => Some(format!(
            "{label}: expected a path starting with `{}`, got {other:?}: {body}",
            case.path
        )),
    }
}

/// Data §2.2.s4.b1: "The LRS MUST reject Statements with any null values (except inside
/// extensions), where the wrong data type is used, with any non-format-following key or value
/// … where the case of a key does not match … where a key or value is not allowed by this
/// specification", plus the per-object MUSTs of §2.3.2, §2.4 and §4 (one case per rule), and
/// Communication §3.2.s3.b9 ("MUST reject a batch of statements if any Statement within that
/// batch is rejected"). Each rejection is a 400 with a JSON message and path, storing nothing.
#[tokio::test]
async fn data_2_2_s4_b1_lrs_rejects_invalid_statements() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    let cases = invalid_cases();
    for case in &cases {
        for version in case.versions {
            if let Some(failure) = check_rejected(&app, case, version).await {
                failures.push(failure);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn interaction(definition: Value) -> Value {
    with(&[("object", activity_object(definition))])
}

fn valid_cases() -> Vec<Valid> {
    let case = |key, why, body| Valid {
        key,
        why,
        versions: BOTH,
        body,
    };
    let cmi = "http://adlnet.gov/expapi/activities/cmi.interaction";
    let mut cases = vec![
        case("Data 2.2.s2.b3", "the minimal statement", statement()),
        // --- §2.4.4.1.s9/s15: every interactionType with its component lists ------------
        case(
            "Data 2.4.4.1.s9, Appendix C true-false",
            "true-false",
            interaction(
                json!({"type": cmi, "interactionType": "true-false", "correctResponsesPattern": ["true"]}),
            ),
        ),
        case(
            "Data 2.4.4.1.s15, Appendix C choice",
            "choice with choices",
            interaction(json!({"type": cmi, "interactionType": "choice",
                "correctResponsesPattern": ["golf[,]tetris"],
                "choices": [component("golf"), component("facebook"), component("tetris")]})),
        ),
        case(
            "Data 2.4.4.1.s9, Appendix C fill-in",
            "fill-in",
            interaction(json!({"type": cmi, "interactionType": "fill-in",
                "correctResponsesPattern": ["Bob's your uncle"]})),
        ),
        case(
            "Data 2.4.4.1.s9, Appendix C long-fill-in",
            "long-fill-in",
            interaction(json!({"type": cmi, "interactionType": "long-fill-in",
                "correctResponsesPattern": ["{case_matters=false}{lang=en}To store and provide access to learning experiences."]})),
        ),
        case(
            "Data 2.4.4.1.s15, Appendix C likert",
            "likert with scale",
            interaction(
                json!({"type": cmi, "interactionType": "likert", "correctResponsesPattern": ["likert_3"],
                "scale": [component("likert_0"), component("likert_1"), component("likert_2"), component("likert_3")]}),
            ),
        ),
        case(
            "Data 2.4.4.1.s15, Appendix C matching",
            "matching with source and target",
            interaction(json!({"type": cmi, "interactionType": "matching",
                "correctResponsesPattern": ["ben[.]3[,]chris[.]2"],
                "source": [component("ben"), component("chris")],
                "target": [component("2"), component("3")]})),
        ),
        case(
            "Data 2.4.4.1.s15, Appendix C performance",
            "performance with steps",
            interaction(json!({"type": cmi, "interactionType": "performance",
                "correctResponsesPattern": ["pong[.]1:[,]dg[.]:10[,]lunch[.]"],
                "steps": [component("pong"), component("dg"), component("lunch")]})),
        ),
        case(
            "Data 2.4.4.1.s15, Appendix C sequencing",
            "sequencing with choices",
            interaction(json!({"type": cmi, "interactionType": "sequencing",
                "correctResponsesPattern": ["tim[,]mike[,]ells"],
                "choices": [component("tim"), component("ells"), component("mike")]})),
        ),
        case(
            "Data 2.4.4.1.s9, Appendix C numeric",
            "numeric",
            interaction(
                json!({"type": cmi, "interactionType": "numeric", "correctResponsesPattern": ["4[:]"]}),
            ),
        ),
        case(
            "Data 2.4.4.1.s9, Appendix C other",
            "other",
            interaction(
                json!({"type": cmi, "interactionType": "other", "correctResponsesPattern": ["(35.937432,-86.868896)"]}),
            ),
        ),
        case(
            "Data 2.4.4.1.s16.b1 (distinct within one array)",
            "matching whose source and target share a component id",
            interaction(
                json!({"interactionType": "matching", "correctResponsesPattern": ["1[.]1"],
                "source": [component("1")], "target": [component("1")]}),
            ),
        ),
        case(
            "Data 2.4.4.1.s13.b5",
            "choice with a long correctResponsesPattern array",
            interaction(json!({"interactionType": "choice",
                "correctResponsesPattern": (0..50).map(|i| format!("c{i}")).collect::<Vec<_>>(),
                "choices": (0..50).map(|i| component(&format!("c{i}"))).collect::<Vec<_>>()})),
        ),
        // --- Actors ----------------------------------------------------------------------
        case(
            "Data 2.4.2.1 (objectType optional)",
            "agent without objectType",
            with(&[("actor", json!({"mbox": "mailto:ann@example.com"}))]),
        ),
        case(
            "Data 2.4.2.3",
            "agent identified by mbox_sha1sum",
            with(&[(
                "actor",
                json!({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
            )]),
        ),
        case(
            "Data 2.4.2.3",
            "agent identified by openid",
            with(&[(
                "actor",
                json!({"openid": "http://openid.example.org/12345"}),
            )]),
        ),
        case(
            "Data 2.4.2.4",
            "agent identified by account",
            with(&[(
                "actor",
                json!({"account": {"homePage": "http://www.example.com", "name": "1625378"}}),
            )]),
        ),
        case(
            "Data 2.4.2.2.s4",
            "anonymous group actor",
            with(&[(
                "actor",
                json!({"objectType": "Group", "name": "Pair",
                "member": [agent("a@example.com"), {"account": {"homePage": "http://lms.example.com", "name": "b"}}]}),
            )]),
        ),
        case(
            "Data 2.4.2.2.s5.b4",
            "identified group actor without members",
            with(&[(
                "actor",
                json!({"objectType": "Group", "account": {"homePage": "http://lms.example.com", "name": "team-7"}}),
            )]),
        ),
        // --- Objects ---------------------------------------------------------------------
        case(
            "Data 2.4.4.1 (objectType optional for Activities)",
            "activity object without objectType",
            with(&[(
                "object",
                json!({"id": "http://example.com/activities/quiz"}),
            )]),
        ),
        case(
            "Data 2.4.4.2",
            "Agent object",
            with(&[("object", agent("bob@example.com"))]),
        ),
        case(
            "Data 2.4.4.2",
            "anonymous Group object",
            with(&[(
                "object",
                json!({"objectType": "Group", "member": [agent("bob@example.com")]}),
            )]),
        ),
        case(
            "Data 2.4.4.2",
            "identified Group object",
            with(&[(
                "object",
                json!({"objectType": "Group", "mbox": "mailto:team@example.com"}),
            )]),
        ),
        case(
            "Data 2.4.4.3.s4.b2 (no requirement that the target exists)",
            "StatementRef object to an unknown statement",
            with(&[(
                "object",
                json!({"objectType": "StatementRef", "id": SOME_ID}),
            )]),
        ),
        case(
            "Data 2.4.4.3.s8, 2.4.7.s3.b5",
            "SubStatement object with a future timestamp and a context",
            with(&[("object", {
                let mut sub = sub_statement();
                sub["timestamp"] = json!("2099-01-01T00:00:00Z");
                sub["context"] =
                    json!({"contextActivities": {"parent": [{"id": "http://example.com/course"}]}});
                sub["result"] = json!({"completion": true});
                sub
            })]),
        ),
        case(
            "Data 2.4.4.3.s8",
            "SubStatement whose object is a StatementRef",
            with(&[(
                "object",
                sub_statement_with(
                    "object",
                    json!({"objectType": "StatementRef", "id": SOME_ID}),
                ),
            )]),
        ),
        case(
            "Data 2.3.2.s2.b5",
            "voiding statement whose target is unknown",
            with(&[
                ("verb.id", json!(VOIDED)),
                (
                    "object",
                    json!({"objectType": "StatementRef", "id": SOME_ID}),
                ),
            ]),
        ),
        case(
            "Data 3.1 (IRIs may contain non-ASCII characters)",
            "activity id with non-ASCII characters",
            with(&[("object.id", json!("http://example.com/活動/クイズ"))]),
        ),
        // --- Result ----------------------------------------------------------------------
        case(
            "Data 2.4.5.1.s2",
            "score at the inclusive bounds",
            with(&[(
                "result.score",
                json!({"scaled": -1, "raw": 10, "min": 0, "max": 10}),
            )]),
        ),
        case(
            "Data 2.4.5",
            "full result with duration",
            with(&[(
                "result",
                json!({"score": {"scaled": 1.0}, "success": true, "completion": false,
                "response": "yes", "duration": "P1DT2H3M4.56S"}),
            )]),
        ),
        case(
            "Data 4.6.s1.b4",
            "duration with more than 0.01 s precision",
            with(&[("result.duration", json!("PT1.23456S"))]),
        ),
        case(
            "Data 4.6.s1.b1 (ISO 8601 week duration)",
            "duration in weeks",
            with(&[("result.duration", json!("P2W"))]),
        ),
        // --- Context ---------------------------------------------------------------------
        case(
            "Data 2.4.6.2.s4.b2",
            "contextActivities values that are single objects",
            with(&[(
                "context.contextActivities",
                json!({
                    "parent": {"id": "http://example.com/course"},
                    "grouping": {"id": "http://example.com/program"},
                    "category": [{"id": "http://example.com/profile"}],
                    "other": {"objectType": "Activity", "id": "http://example.com/book"}
                }),
            )]),
        ),
        case(
            "Data 2.4.6",
            "full context",
            with(&[(
                "context",
                json!({
                    "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                    "instructor": {"objectType": "Group", "member": [agent("t@example.com")]},
                    "team": {"objectType": "Group", "mbox": "mailto:team@example.com"},
                    "revision": "2",
                    "platform": "web",
                    "language": "zh-Hant-TW",
                    "statement": {"objectType": "StatementRef", "id": SOME_ID},
                    "extensions": {"http://example.com/ext/altitude": 1000}
                }),
            )]),
        ),
        case(
            "Data 2.2.s4.b1.b1, 4.1.s3.b2",
            "extensions with null and nested values",
            with(&[
                (
                    "result.extensions",
                    json!({"http://example.com/ext/a": null, "http://example.com/ext/b": {"x": [null, 1]}}),
                ),
                ("context.extensions", json!({"urn:example:ext:c": null})),
                (
                    "object.definition.extensions",
                    json!({"http://example.com/ext/d": null}),
                ),
            ]),
        ),
        case(
            "Data 4.2",
            "language maps with several valid tags",
            with(&[(
                "verb.display",
                json!({"en": "attempted", "en-GB": "attempted", "zh-Hans-CN": "尝试",
                "sgn-BE-FR": "x", "de-CH-1901": "versucht", "x-private": "p"}),
            )]),
        ),
        case(
            "Data 2.4.11, Communication 1.5.2.s2.b1",
            "attachment with fileUrl in a JSON request",
            with(&[("attachments", json!([attachment()]))]),
        ),
        // --- Version and timestamps ------------------------------------------------------
        case(
            "Data 2.4.10.s3.b1",
            "statement version `1.0.0`",
            with(&[("version", json!("1.0.0"))]),
        ),
        case(
            "Data 2.4.10.s3.b1",
            "statement version `1.0.3`",
            with(&[("version", json!("1.0.3"))]),
        ),
        case(
            "Data 2.4.10.s3.b1",
            "statement version `1.0.9`",
            with(&[("version", json!("1.0.9"))]),
        ),
        case(
            "Data 4.5",
            "timestamp in UTC with Z",
            with(&[("timestamp", json!("2024-03-01T12:00:00Z"))]),
        ),
        case(
            "Data 4.5",
            "timestamp with a positive offset and nanoseconds",
            with(&[("timestamp", json!("2024-03-01T12:00:00.123456789+05:30"))]),
        ),
        case(
            "Data 4.5",
            "timestamp with a negative offset",
            with(&[("timestamp", json!("2024-03-01T12:00:00-08:00"))]),
        ),
        case(
            "Data 4.5",
            "timestamp with +00:00",
            with(&[("timestamp", json!("2024-03-01T12:00:00.5+00:00"))]),
        ),
        case(
            "Data 2.4.7.s3.b6",
            "timestamp in the future",
            with(&[("timestamp", json!("2099-12-31T23:59:59.999Z"))]),
        ),
        case(
            "Data 2.4.8.s3.b2 (stored is overwritten)",
            "statement with a client stored",
            with(&[("stored", json!("2020-01-01T00:00:00Z"))]),
        ),
        case(
            "Data 2.4.9.s3.b4 (authority is overwritten)",
            "statement with a client authority Agent",
            with(&[(
                "authority",
                json!({"objectType": "Agent", "account": {"homePage": "http://example.com", "name": "x"}}),
            )]),
        ),
        case(
            "Data 2.2.s2.b4",
            "properties in an unusual order",
            json!({
                "object": {"id": "http://example.com/activities/quiz", "objectType": "Activity"},
                "verb": {"display": {"en-US": "attempted"}, "id": "http://adlnet.gov/expapi/verbs/attempted"},
                "actor": {"mbox": "mailto:ann@example.com", "objectType": "Agent"}
            }),
        ),
        case(
            "Communication 2.1.2",
            "a batch of two statements",
            json!([
                statement(),
                with(&[("verb.id", json!("http://adlnet.gov/expapi/verbs/completed"))])
            ]),
        ),
    ];
    cases.push(Valid {
        key: "xAPI 2.0 Data 2.4.6 (contextAgents)",
        why: "context.contextAgents under a 2.0.0 header",
        versions: ONLY_V2,
        body: with(&[("context.contextAgents", context_agents())]),
    });
    cases.push(Valid {
        key: "xAPI 2.0 Data 2.4.6 (contextGroups)",
        why: "context.contextGroups under a 2.0.0 header",
        versions: ONLY_V2,
        body: with(&[("context.contextGroups", context_groups())]),
    });
    cases.push(Valid {
        key: "xAPI 2.0 Data 2.4.10",
        why: "statement version `2.0.0` under a 2.0.0 header",
        versions: ONLY_V2,
        body: with(&[("version", json!("2.0.0"))]),
    });
    cases
}

/// Checks one acceptance: 200 with one id per statement, stored and readable back.
async fn check_accepted(app: &TestApp, case: &Valid, version: &str) -> Option<String> {
    let label = format!("[{}] {} (header {version})", case.key, case.why);
    let expected = case.body.as_array().map_or(1, Vec::len);
    let before = app.statement_count().await;
    let response = app.post_statements(version, &case.body).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if status != 200 {
        return Some(format!("{label}: expected 200, got {status}: {text}"));
    }
    let ids: Vec<String> = match serde_json::from_str(&text) {
        Ok(ids) => ids,
        Err(_) => return Some(format!("{label}: 200 body is not an array of ids: {text}")),
    };
    if ids.len() != expected {
        return Some(format!("{label}: expected {expected} id(s), got {text}"));
    }
    let after = app.statement_count().await;
    if after - before != expected as i64 {
        return Some(format!(
            "{label}: expected {expected} new statement(s), {} stored",
            after - before
        ));
    }
    for id in &ids {
        let response = app.get_statement(version, id).await;
        if response.status() != 200 {
            return Some(format!("{label}: GET {id} gave {}", response.status()));
        }
    }
    None
}

/// The converse of §2.2.s4.b1: statements that follow every rule MUST be accepted — every
/// interactionType with the component lists Data §2.4.4.1.s15 allows for it, SubStatements
/// (§2.4.4.3.s8), StatementRefs to unknown statements (§2.4.4.3.s4.b2 "There is no requirement
/// for the LRS to validate that the UUID matches a Statement that exists"), Agent and Group
/// objects (§2.4.4.2), single-object contextActivities (§2.4.6.2.s4.b2), null extension
/// values (§4.1.s3.b2 "An LRS MUST NOT reject a Statement based on the values of the
/// extensions map"), every `1.0.x` version (§2.4.10.s3.b1 "An LRS MUST accept all Statements
/// where their version starts with `1.0.`") and timestamps with offsets (§4.5).
#[tokio::test]
async fn data_2_2_lrs_accepts_valid_statements() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    let cases = valid_cases();
    for case in &cases {
        for version in case.versions {
            if let Some(failure) = check_accepted(&app, case, version).await {
                failures.push(failure);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} valid cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Data §2.4.10.s2.b1: a statement's version "MUST be formatted as laid out for the API version
/// header", and Communication §3.3.s3.b3 accepts a header of `1.0` as `1.0.0`; so a statement
/// version of `1.0` is accepted and kept as sent (§2.4.10.s3.b3), as the ADL suite also expects.
#[tokio::test]
async fn data_2_4_10_s2_b1_statement_version_1_0_accepted_and_kept() {
    let app = spawn_app().await;
    for version in BOTH {
        let r = app
            .post_statements(version, &with(&[("version", json!("1.0"))]))
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::OK, "header {version}");
        let ids: Vec<String> = r.json().await.unwrap();
        let stored: Value = app
            .get_statement(version, &ids[0])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored["version"], "1.0", "header {version}");
    }
}
