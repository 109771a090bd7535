//! A deterministic (seeded) workload of realistic LMS traffic: learners taking cmi5 courses
//! (launched, initialized, progressed/answered/video events, completed, passed or failed,
//! terminated; some sessions abandoned), quizzes with interaction activities, videos (xAPI
//! Video Profile: session id, length, played segments), attended live classes, context
//! activities and extensions, and a share of voids.
//!
//! The same seed and sizes always give the same statements, ids included.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const ADL: &str = "http://adlnet.gov/expapi/verbs/";
const CMI5_CATEGORY: &str = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
const SESSION_EXT: &str = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";
const VIDEO: &str = "https://w3id.org/xapi/video/verbs/";

#[derive(Debug, Clone)]
pub struct Workload {
    pub seed: u64,
    pub learners: usize,
    pub courses: usize,
    /// Assignable units per course.
    pub aus_per_course: usize,
}

impl Workload {
    /// Sizes that keep every filter selective the way a real store is: each learner, verb,
    /// course and registration matches a small share of a large store.
    pub fn for_statements(total: usize, seed: u64) -> Workload {
        Workload {
            seed,
            learners: (total / 200).max(10),
            courses: (total / 20_000).clamp(5, 500),
            aus_per_course: 8,
        }
    }

    pub fn learner(&self, i: usize) -> Value {
        json!({
            "objectType": "Agent",
            "name": format!("Learner {i}"),
            "account": {"homePage": "https://lms.example.com", "name": format!("learner-{i}")}
        })
    }

    pub fn course_iri(&self, c: usize) -> String {
        format!("https://courses.example.com/course/{c}")
    }

    pub fn au_iri(&self, c: usize, a: usize) -> String {
        format!("https://courses.example.com/course/{c}/au/{a}")
    }

    /// Statements in session order, `total` of them.
    pub fn statements(&self, total: usize) -> impl Iterator<Item = Value> + '_ {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut pending: std::collections::VecDeque<Value> = Default::default();
        let mut emitted_ids: Vec<String> = Vec::new();
        let mut clock = chrono::DateTime::parse_from_rfc3339("2026-01-05T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut produced = 0;
        std::iter::from_fn(move || {
            if produced >= total {
                return None;
            }
            if pending.is_empty() {
                self.session(&mut rng, &mut clock, &mut pending, &emitted_ids);
            }
            let s = pending.pop_front()?;
            if emitted_ids.len() < 100_000 {
                emitted_ids.push(s["id"].as_str().unwrap().to_string());
            } else {
                let i = rng.gen_range(0..emitted_ids.len());
                emitted_ids[i] = s["id"].as_str().unwrap().to_string();
            }
            produced += 1;
            Some(s)
        })
    }

    fn session(
        &self,
        rng: &mut StdRng,
        clock: &mut chrono::DateTime<chrono::Utc>,
        out: &mut std::collections::VecDeque<Value>,
        earlier: &[String],
    ) {
        let learner = rng.gen_range(0..self.learners);
        let course = rng.gen_range(0..self.courses);
        let au = rng.gen_range(0..self.aus_per_course);
        // One registration per learner and course, derived so that it repeats across sessions.
        let registration = uuid_from(rng_seed(self.seed, learner as u64, course as u64));
        let session_id = uuid_from(rng.gen());
        *clock += chrono::Duration::seconds(rng.gen_range(1..120));
        let mut t = *clock;
        let kind = rng.gen_range(0..10);
        let actor = self.learner(learner);
        let au_iri = self.au_iri(course, au);
        let context = json!({
            "registration": registration,
            "contextActivities": {
                "parent": [{"id": self.course_iri(course), "objectType": "Activity"}],
                "grouping": [{"id": self.course_iri(course), "objectType": "Activity"}],
                "category": [{"id": CMI5_CATEGORY}]
            },
            "extensions": {SESSION_EXT: session_id}
        });
        // `ctx`: this statement's context when it is not the session's.
        let mut push = |rng: &mut StdRng,
                        verb: &str,
                        object: Value,
                        result: Option<Value>,
                        ctx: Option<&Value>| {
            t += chrono::Duration::seconds(rng.gen_range(5..90));
            let mut s = json!({
                "id": uuid_from(rng.gen()),
                "actor": actor,
                "verb": {"id": verb, "display": {"en-US": verb.rsplit('/').next().unwrap()}},
                "object": object,
                "context": ctx.unwrap_or(&context),
                "timestamp": t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            });
            if let Some(r) = result {
                s["result"] = r;
            }
            out.push_back(s);
        };
        let au_object = json!({
            "id": au_iri, "objectType": "Activity",
            "definition": {"name": {"en-US": format!("Unit {au} of course {course}")},
                           "type": "https://w3id.org/xapi/cmi5/activitytype/block"}
        });
        push(
            rng,
            &format!("{ADL}launched"),
            au_object.clone(),
            None,
            None,
        );
        push(
            rng,
            &format!("{ADL}initialized"),
            au_object.clone(),
            None,
            None,
        );
        let abandoned = rng.gen_bool(0.1);
        match kind {
            // A quiz: one answered statement per question, with an interaction definition.
            0..=3 => {
                let questions = rng.gen_range(3..12);
                for q in 0..questions {
                    let correct = rng.gen_bool(0.7);
                    let choice = if correct {
                        "b"
                    } else {
                        ["a", "c", "d"][rng.gen_range(0..3)]
                    };
                    let seconds = rng.gen_range(5..60);
                    push(
                        rng,
                        &format!("{ADL}answered"),
                        json!({
                            "id": format!("{au_iri}/question/{q}"), "objectType": "Activity",
                            "definition": {
                                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                                "interactionType": "choice",
                                "correctResponsesPattern": ["b"],
                                "choices": [{"id": "a", "description": {"en-US": "A"}},
                                            {"id": "b", "description": {"en-US": "B"}},
                                            {"id": "c", "description": {"en-US": "C"}},
                                            {"id": "d", "description": {"en-US": "D"}}]
                            }
                        }),
                        Some(json!({"success": correct, "response": choice,
                                    "duration": format!("PT{seconds}S")})),
                        None,
                    );
                }
            }
            // A video (xAPI Video Profile): played/paused/seeked with the session id, the
            // length, the position and the cumulative played segments.
            4..=6 => {
                let video = json!({"id": format!("{au_iri}/video"), "objectType": "Activity",
                    "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                                   "name": {"en-US": format!("Video of unit {au}")}}});
                let length = 120.0 + (au * 30) as f64;
                let video_session = uuid_from(rng.gen());
                let mut video_context = context.clone();
                video_context["extensions"]["https://w3id.org/xapi/video/extensions/session-id"] =
                    json!(video_session);
                video_context["extensions"]["https://w3id.org/xapi/video/extensions/length"] =
                    json!(length);
                let mut position = 0.0_f64;
                let mut segments: Vec<String> = Vec::new();
                for _ in 0..rng.gen_range(2..8) {
                    let verb = ["played", "paused", "seeked"][rng.gen_range(0..3)];
                    let from = position;
                    position = (position + rng.gen_range(5.0..60.0)).min(length);
                    segments.push(format!("{:.3}[.]{:.3}", from, position));
                    push(
                        rng,
                        &format!("{VIDEO}{verb}"),
                        video.clone(),
                        Some(json!({"extensions": {
                            "https://w3id.org/xapi/video/extensions/time": (position * 1000.0).round() / 1000.0,
                            "https://w3id.org/xapi/video/extensions/played-segments": segments.join("[,]"),
                            "https://w3id.org/xapi/video/extensions/progress": ((position / length) * 1000.0).round() / 1000.0
                        }})),
                        Some(&video_context),
                    );
                }
            }
            // A timetabled live class (Jisc attendance recipe): attended, with the minutes.
            9 => {
                let minutes = rng.gen_range(20..90);
                let class = rng.gen_range(0..20);
                push(
                    rng,
                    &format!("{ADL}attended"),
                    json!({"id": format!("{}/class/{class}", self.course_iri(course)),
                           "objectType": "Activity",
                           "definition": {"type": "http://xapi.jisc.ac.uk/event_timetabled",
                                          "name": {"en-US": "Live class"}}}),
                    Some(json!({"completion": true, "duration": format!("PT{minutes}M")})),
                    None,
                );
            }
            _ => {
                for p in 1..=rng.gen_range(1..5) {
                    push(
                        rng,
                        &format!("{ADL}progressed"),
                        au_object.clone(),
                        Some(json!({"extensions": {
                            "https://w3id.org/xapi/cmi5/result/extensions/progress": p * 20
                        }})),
                        None,
                    );
                }
            }
        }
        if !abandoned {
            let score: f64 = rng.gen_range(0.3..1.0);
            let passed = score >= 0.6;
            let minutes = rng.gen_range(3..40);
            push(
                rng,
                &format!("{ADL}completed"),
                au_object.clone(),
                Some(json!({"completion": true, "duration": format!("PT{minutes}M")})),
                None,
            );
            push(
                rng,
                &format!("{ADL}{}", if passed { "passed" } else { "failed" }),
                au_object.clone(),
                Some(
                    json!({"success": passed, "score": {"scaled": (score * 100.0).round() / 100.0}}),
                ),
                None,
            );
            push(rng, &format!("{ADL}terminated"), au_object, None, None);
        } else {
            // cmi5 §9.3.8: the LMS records the abandoned session with its duration.
            let minutes = rng.gen_range(1..30);
            push(
                rng,
                "https://w3id.org/xapi/adl/verbs/abandoned",
                au_object,
                Some(json!({"duration": format!("PT{minutes}M")})),
                None,
            );
        }
        // About 0.5% of statements void an earlier one.
        if !earlier.is_empty() && rng.gen_bool(0.05) {
            let target = &earlier[rng.gen_range(0..earlier.len())];
            out.push_back(json!({
                "id": uuid_from(rng.gen()),
                "actor": {"objectType": "Agent", "name": "LMS", "mbox": "mailto:lms@example.com"},
                "verb": {"id": format!("{ADL}voided"), "display": {"en-US": "voided"}},
                "object": {"objectType": "StatementRef", "id": target}
            }));
        }
    }
}

fn rng_seed(seed: u64, a: u64, b: u64) -> u128 {
    let mut r =
        StdRng::seed_from_u64(seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.rotate_left(32));
    r.gen()
}

fn uuid_from(bits: u128) -> String {
    uuid::Builder::from_random_bytes(bits.to_le_bytes())
        .into_uuid()
        .to_string()
}
