//! The reports: one SQL query each over the filtered `base` statements (see `filters.rs`),
//! built on the gold layer's rows. Numbers from the request are validated before they are
//! written into the SQL; strings are always bound.
//!
//! Definitions follow research/warehouse-bi-sources.md §B3: funnels count registrations,
//! item statistics use each learner's first attempt (Moodle's convention), discrimination is
//! the point-biserial correlation of an item with the rest of the assessment.

/// The verbs reports look for, each with the small code `base` gives it (`verb_code`), so
/// that a report compares integers once per row instead of IRIs once per condition.
pub const VERB_CODES: &[(&str, u8)] = &[
    ("http://adlnet.gov/expapi/verbs/launched", LAUNCHED),
    ("http://adlnet.gov/expapi/verbs/initialized", INITIALIZED),
    ("http://adlnet.gov/expapi/verbs/progressed", PROGRESSED),
    ("http://adlnet.gov/expapi/verbs/completed", COMPLETED),
    ("http://adlnet.gov/expapi/verbs/passed", PASSED),
    ("http://adlnet.gov/expapi/verbs/failed", FAILED),
    ("http://adlnet.gov/expapi/verbs/terminated", TERMINATED),
    ("https://w3id.org/xapi/adl/verbs/abandoned", ABANDONED),
    ("https://w3id.org/xapi/adl/verbs/waived", WAIVED),
    ("https://w3id.org/xapi/adl/verbs/satisfied", SATISFIED),
];
const LAUNCHED: u8 = 1;
const INITIALIZED: u8 = 2;
const PROGRESSED: u8 = 3;
const COMPLETED: u8 = 4;
const PASSED: u8 = 5;
const FAILED: u8 = 6;
const TERMINATED: u8 = 7;
const ABANDONED: u8 = 8;
const WAIVED: u8 = 9;
const SATISFIED: u8 = 10;

/// `CASE verb_iri WHEN … THEN code … ELSE 0 END`.
pub fn verb_code_sql() -> String {
    let arms: String = VERB_CODES
        .iter()
        .map(|(iri, code)| format!(" WHEN '{iri}' THEN {code}"))
        .collect();
    format!("CASE verb_iri{arms} ELSE 0 END")
}

/// What a funnel row is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelGroup {
    Course,
    /// The activity each cmi5 statement is about (the AU).
    Au,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngagementGroup {
    None,
    Course,
    Source,
}

/// A report and its own parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    CompletionFunnel {
        group: FunnelGroup,
    },
    ItemAnalysis,
    ItemDistractors,
    Engagement {
        interval: Interval,
        group: EngagementGroup,
    },
    LearnerProgress,
    AtRisk {
        /// The day the risk is judged on (default: today, UTC), `YYYY-MM-DD`.
        as_of: chrono::NaiveDate,
        inactive_days: u32,
        min_score: f64,
        abandoned_sessions: u32,
    },
    VideoEngagement,
    VideoDropoff {
        buckets: u32,
    },
    TopVerbs {
        top: u32,
    },
    TopActivities {
        top: u32,
    },
}

/// `names`: a display name for the activity IRIs that `wanted` (a query returning `iri`)
/// lists — the latest name seen on a statement's object.
fn activity_names(wanted: &str) -> String {
    format!(
        "names AS (SELECT object_id AS iri, \
         arg_max(object_name, seq) FILTER (WHERE object_name IS NOT NULL) AS name \
         FROM silver_statement WHERE object_type = 'Activity' AND object_id IN ({wanted}) \
         GROUP BY object_id)"
    )
}

impl Report {
    /// The query after `WITH base AS (…), `: everything but the base CTE.
    pub fn body(&self) -> String {
        match self {
            Report::CompletionFunnel { group } => funnel(*group),
            Report::ItemAnalysis => item_analysis(),
            Report::ItemDistractors => item_distractors(),
            Report::Engagement { interval, group } => engagement(*interval, *group),
            Report::LearnerProgress => learner_progress(),
            Report::AtRisk {
                as_of,
                inactive_days,
                min_score,
                abandoned_sessions,
            } => at_risk(*as_of, *inactive_days, *min_score, *abandoned_sessions),
            Report::VideoEngagement => video_engagement(),
            Report::VideoDropoff { buckets } => video_dropoff(*buckets),
            Report::TopVerbs { top } => top_verbs(*top),
            Report::TopActivities { top } => top_activities(*top),
        }
    }
}

/// Registered → launched → initialized → progressed → completed → passed → satisfied, counted
/// in registrations; each stage's share of the previous stage and of the registered.
fn funnel(group: FunnelGroup) -> String {
    let (grp, key) = match group {
        FunnelGroup::Course => ("course_iri", "course_hash"),
        FunnelGroup::Au => (
            "CASE WHEN cmi5_session_id IS NOT NULL THEN object_id END",
            "object_hash",
        ),
    };
    format!(
        "r AS (
  SELECT any_value({grp}) AS group_iri,
         bool_or(verb_code = {LAUNCHED}) AS launched,
         bool_or(verb_code = {INITIALIZED}) AS initialized,
         bool_or(verb_code = {PROGRESSED} OR progress > 0) AS progressed,
         bool_or(verb_code = {COMPLETED}) AS completed,
         bool_or(verb_code = {PASSED}) AS passed,
         bool_or(verb_code = {SATISFIED}) AS satisfied
  FROM base WHERE registration IS NOT NULL AND {grp} IS NOT NULL
  GROUP BY {key}, hash(registration)),
c AS (
  SELECT group_iri, count(*) AS s1, count(*) FILTER (launched) AS s2,
         count(*) FILTER (initialized) AS s3, count(*) FILTER (progressed) AS s4,
         count(*) FILTER (completed) AS s5, count(*) FILTER (passed) AS s6,
         count(*) FILTER (satisfied) AS s7
  FROM r GROUP BY group_iri),
stages AS (
  SELECT c.group_iri, st.stage_order, st.stage,
         CASE st.stage_order WHEN 1 THEN s1 WHEN 2 THEN s2 WHEN 3 THEN s3 WHEN 4 THEN s4
              WHEN 5 THEN s5 WHEN 6 THEN s6 ELSE s7 END AS registrations,
         s1 AS registered
  FROM c CROSS JOIN (VALUES (1, 'registered'), (2, 'launched'), (3, 'initialized'),
                            (4, 'progressed'), (5, 'completed'), (6, 'passed'),
                            (7, 'satisfied')) st(stage_order, stage)),
{names}
SELECT s.group_iri, n.name AS group_name, CAST(s.stage_order AS INTEGER) AS stage_order, s.stage,
       CAST(s.registrations AS BIGINT) AS registrations,
       round(s.registrations / nullif(lag(s.registrations) OVER w, 0), 4) AS conversion_from_previous,
       round(s.registrations / nullif(s.registered, 0), 4) AS conversion_from_registered
FROM stages s LEFT JOIN names n ON n.iri = s.group_iri
WINDOW w AS (PARTITION BY s.group_iri ORDER BY s.stage_order)
ORDER BY s.group_iri, s.stage_order",
        names = activity_names("SELECT group_iri FROM c")
    )
}

/// Item responses with their assessment (the first `parent` context activity) and whether
/// each is the learner's first attempt at the item.
fn responses() -> &'static str {
    "resp AS (
  SELECT seq, actor_hash, coalesce(list_min(parent_iris), '') AS assessment_iri,
         hash(coalesce(list_min(parent_iris), '')) AS assessment_hash, object_hash AS item_hash,
         object_id AS item_iri, response, CAST(result_success AS INTEGER) AS correct,
         row_number() OVER (PARTITION BY actor_hash, object_hash
                            ORDER BY \"timestamp\", seq) = 1 AS first_attempt
  FROM base
  WHERE (response IS NOT NULL OR interaction_type IS NOT NULL) AND object_type = 'Activity')"
}

/// Per item: attempts, learners, difficulty (p-value of first attempts) and discrimination
/// (point-biserial: Pearson correlation of the item's 0/1 first-attempt score with the
/// learner's first-attempt score on the rest of the assessment).
fn item_analysis() -> String {
    format!(
        "{},
first AS (SELECT * FROM resp WHERE first_attempt),
totals AS (SELECT actor_hash, assessment_hash, sum(correct) AS total FROM first GROUP BY ALL),
stats AS (
  SELECT f.assessment_hash, f.item_hash, count(*) AS learners, avg(f.correct) AS p_value,
         corr(f.correct, t.total - f.correct) AS discrimination
  FROM first f JOIN totals t USING (actor_hash, assessment_hash)
  GROUP BY ALL),
attempts AS (SELECT assessment_hash, item_hash, any_value(assessment_iri) AS assessment_iri,
                    any_value(item_iri) AS item_iri, count(*) AS attempts
             FROM resp GROUP BY ALL),
{names}
SELECT nullif(a.assessment_iri, '') AS assessment_iri, a.item_iri, n.name AS item_name,
       CAST(a.attempts AS BIGINT) AS attempts, CAST(s.learners AS BIGINT) AS learners,
       round(s.p_value, 4) AS difficulty_p_value,
       round(s.discrimination, 4) AS discrimination,
       concat_ws(',', CASE WHEN s.p_value < 0.2 THEN 'very_hard' END,
                      CASE WHEN s.p_value > 0.9 THEN 'very_easy' END,
                      CASE WHEN s.discrimination < 0.2 THEN 'low_discrimination' END) AS flags
FROM attempts a JOIN stats s USING (assessment_hash, item_hash)
LEFT JOIN names n ON n.iri = a.item_iri
ORDER BY a.assessment_iri, a.item_iri",
        responses(),
        names = activity_names("SELECT item_iri FROM attempts")
    )
}

/// Per item and response given: how often, on first attempts and overall, and whether it was
/// judged correct.
fn item_distractors() -> String {
    format!(
        "{}
SELECT nullif(any_value(assessment_iri), '') AS assessment_iri, any_value(item_iri) AS item_iri,
       response, CAST(count(*) AS BIGINT) AS responses,
       CAST(count(*) FILTER (first_attempt) AS BIGINT) AS first_attempt_responses,
       round(count(*) / sum(count(*)) OVER (PARTITION BY assessment_hash, item_hash), 4) AS share,
       bool_or(correct = 1) AS correct
FROM resp WHERE response IS NOT NULL
GROUP BY assessment_hash, item_hash, response
ORDER BY assessment_iri, item_iri, responses DESC, response",
        responses()
    )
}

/// Active learners, statements and active minutes (distinct minutes in which a learner sent
/// a statement) per period, overall or by course or source.
fn engagement(interval: Interval, group: EngagementGroup) -> String {
    let unit = match interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
    };
    let grp = match group {
        EngagementGroup::None => "CAST(NULL AS VARCHAR)",
        EngagementGroup::Course => "course_iri",
        EngagementGroup::Source => "coalesce(platform, authority_name, source_key)",
    };
    format!(
        "m AS (
  SELECT CAST(date_trunc('{unit}', \"timestamp\") AS DATE) AS period_start, {grp} AS grp,
         actor_hash, CAST(epoch(\"timestamp\") // 60 AS BIGINT) AS minute, count(*) AS statements
  FROM base GROUP BY ALL)
SELECT period_start, grp AS \"group\", CAST(count(DISTINCT actor_hash) AS BIGINT) AS active_learners,
       CAST(sum(statements) AS BIGINT) AS statements,
       CAST(count(*) AS BIGINT) AS active_minutes
FROM m GROUP BY ALL ORDER BY period_start, \"group\" NULLS FIRST"
    )
}

/// Per learner and course: the AUs seen and satisfied (completed, passed or waived — cmi5's
/// usual moveOn `CompletedOrPassed`), the best score, the time in cmi5 sessions, the last
/// activity.
fn per_learner_course() -> String {
    format!(
        "lc AS (
  SELECT actor_hash, any_value(actor_ifi) AS learner, arg_max(actor_name, seq) AS name,
         any_value(course_iri) AS course_iri,
         count(DISTINCT object_hash) FILTER (WHERE cmi5_session_id IS NOT NULL) AS aus_attempted,
         count(DISTINCT object_hash) FILTER (WHERE cmi5_session_id IS NOT NULL
             AND verb_code IN ({COMPLETED}, {PASSED}, {WAIVED})) AS aus_satisfied,
         max(score_scaled) AS best_score_scaled,
         coalesce(sum(duration_seconds) FILTER (WHERE verb_code IN ({TERMINATED}, {ABANDONED})), 0)
             AS time_spent_seconds,
         max(\"timestamp\") AS last_activity,
         count(*) AS statements,
         bool_or(verb_code IN ({COMPLETED}, {PASSED})) AS finished,
         bool_or(verb_code = {PASSED}) AS passed,
         bool_or(verb_code = {FAILED}) AS failed,
         count(*) FILTER (WHERE verb_code = {ABANDONED}) AS abandoned_sessions
  FROM base GROUP BY actor_hash, course_hash)"
    )
}

fn learner_progress() -> String {
    format!(
        "{}
SELECT learner, name, course_iri, CAST(aus_attempted AS BIGINT) AS aus_attempted,
       CAST(aus_satisfied AS BIGINT) AS aus_satisfied, best_score_scaled,
       round(time_spent_seconds, 3) AS time_spent_seconds, last_activity,
       CAST(statements AS BIGINT) AS statements
FROM lc ORDER BY learner, course_iri NULLS FIRST",
        per_learner_course()
    )
}

/// Learners flagged with the reasons: `inactive` (nothing for `inactive_days` days before
/// `as_of` and not finished), `failed_not_passed`, `low_score` (best scaled score below
/// `min_score`), `abandoned_sessions` (at least that many abandoned cmi5 sessions).
fn at_risk(as_of: chrono::NaiveDate, inactive_days: u32, min_score: f64, abandoned: u32) -> String {
    let as_of = as_of.format("%Y-%m-%d");
    format!(
        "{},
flagged AS (
  SELECT *, date_diff('day', CAST(last_activity AS DATE), DATE '{as_of}') AS days_inactive
  FROM lc),
reasoned AS (
  SELECT *, concat_ws(',',
           CASE WHEN days_inactive >= {inactive_days} AND NOT finished THEN 'inactive' END,
           CASE WHEN failed AND NOT passed THEN 'failed_not_passed' END,
           CASE WHEN best_score_scaled < {min_score} THEN 'low_score' END,
           CASE WHEN abandoned_sessions >= {abandoned} THEN 'abandoned_sessions' END) AS reasons
  FROM flagged)
SELECT learner, name, course_iri, last_activity, CAST(days_inactive AS BIGINT) AS days_inactive,
       best_score_scaled, CAST(abandoned_sessions AS BIGINT) AS abandoned_sessions, reasons
FROM reasoned WHERE reasons <> ''
ORDER BY learner, course_iri NULLS FIRST",
        per_learner_course()
    )
}

/// Video sessions (xAPI Video Profile session id) from the filtered statements: the largest
/// cumulative played-segments union wins (as in `fact_video_session`).
fn video_sessions() -> String {
    format!(
        "vs AS (
  SELECT any_value(actor_hash) AS actor_hash,
         any_value(object_id) AS video_iri,
         arg_max(object_name, seq) AS video_name,
         max(video_length) AS length_seconds,
         coalesce(max(video_watched_seconds), 0) AS watched_seconds,
         arg_max(video_played_segments, coalesce(video_watched_seconds, 0))
             FILTER (WHERE video_played_segments IS NOT NULL) AS segments,
         bool_or(verb_code = {COMPLETED}) AS completed
  FROM base WHERE video_session_id IS NOT NULL AND object_type = 'Activity'
  GROUP BY hash(video_session_id))"
    )
}

/// Per video: viewers, sessions, the share of viewers who completed it, the average share of
/// the video watched per session, total watched seconds.
fn video_engagement() -> String {
    format!(
        "{}
SELECT v.video_iri, any_value(v.video_name) AS video_name, max(v.length_seconds) AS length_seconds,
       CAST(count(DISTINCT v.actor_hash) AS BIGINT) AS viewers,
       CAST(count(*) AS BIGINT) AS sessions,
       round(count(DISTINCT v.actor_hash) FILTER (WHERE v.completed)
             / count(DISTINCT v.actor_hash), 4) AS completion_rate,
       round(avg(least(v.watched_seconds / nullif(v.length_seconds, 0), 1.0)), 4)
             AS avg_share_watched,
       round(sum(v.watched_seconds), 3) AS watched_seconds
FROM vs v GROUP BY v.video_iri ORDER BY v.video_iri",
        video_sessions()
    )
}

/// Drop-off: each video cut into `buckets` equal parts; per part, how many viewers watched
/// its midpoint in some session (from the played segments `a[.]b[,]c[.]d`). Part `i` of a
/// video of length `len` has its midpoint `len·(i + ½)/n` inside a segment `[a, b]` exactly
/// when `a/len·n − ½ ≤ i ≤ b/len·n − ½`, so each segment lists the parts it reaches.
fn video_dropoff(buckets: u32) -> String {
    let n = buckets;
    format!(
        "{},
videos AS (
  SELECT video_iri, max(length_seconds) AS len, count(DISTINCT actor_hash) AS viewers
  FROM vs GROUP BY video_iri HAVING max(length_seconds) > 0),
segs AS (
  SELECT s.video_iri, s.actor_hash, v.len,
         CAST(split_part(seg, '[.]', 1) AS DOUBLE) AS seg_start,
         CAST(split_part(seg, '[.]', 2) AS DOUBLE) AS seg_end
  FROM (SELECT video_iri, actor_hash, unnest(string_split(segments, '[,]')) AS seg
        FROM vs WHERE segments IS NOT NULL) s JOIN videos v USING (video_iri)
  WHERE seg LIKE '%[.]%'),
reached AS (
  SELECT DISTINCT video_iri, actor_hash,
         unnest(range(CAST(greatest(ceil(seg_start / len * {n} - 0.5), 0) AS BIGINT),
                      CAST(least(floor(seg_end / len * {n} - 0.5), {n} - 1) AS BIGINT) + 1)) AS bucket
  FROM segs),
counts AS (SELECT video_iri, bucket, count(*) AS n FROM reached GROUP BY ALL)
SELECT v.video_iri, CAST(r.i AS INTEGER) AS bucket,
       round(v.len * r.i / {n}, 3) AS position_start_seconds,
       round(v.len * (r.i + 1) / {n}, 3) AS position_end_seconds,
       CAST(v.viewers AS BIGINT) AS viewers,
       CAST(coalesce(c.n, 0) AS BIGINT) AS viewers_watched,
       round(coalesce(c.n, 0) / v.viewers, 4) AS share_watched
FROM videos v CROSS JOIN range({n}) r(i)
LEFT JOIN counts c ON c.video_iri = v.video_iri AND c.bucket = r.i
ORDER BY v.video_iri, bucket",
        video_sessions()
    )
}

fn top_verbs(top: u32) -> String {
    format!(
        "t AS (SELECT verb_iri, arg_max(verb_display, seq) AS display, count(*) AS statements,
                 count(DISTINCT actor_hash) AS learners FROM base GROUP BY verb_iri)
SELECT verb_iri, display, CAST(statements AS BIGINT) AS statements,
       CAST(learners AS BIGINT) AS learners
FROM t ORDER BY statements DESC, verb_iri LIMIT {top}"
    )
}

fn top_activities(top: u32) -> String {
    format!(
        "t AS (SELECT any_value(object_id) AS activity_iri,
                 arg_max(object_name, seq) FILTER (WHERE object_name IS NOT NULL) AS name,
                 arg_max(object_activity_type, seq) FILTER (WHERE object_activity_type IS NOT NULL) AS activity_type,
                 count(*) AS statements, count(DISTINCT actor_hash) AS learners
          FROM base WHERE object_type = 'Activity' GROUP BY object_hash)
SELECT activity_iri, name, activity_type, CAST(statements AS BIGINT) AS statements,
       CAST(learners AS BIGINT) AS learners
FROM t ORDER BY statements DESC, activity_iri LIMIT {top}"
    )
}
