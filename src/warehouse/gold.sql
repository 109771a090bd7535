-- Gold layer (ARCHITECTURE.md "Warehouse model"): conformed dimensions and facts as views over
-- silver, so they are always exactly as fresh as the last ETL commit. The published BI copy
-- materialises them as tables. Keys are BIGINTs computed once per statement at extract time
-- (src/warehouse/keys.rs): md5_number_upper(natural key) >> 1, stable across rebuilds.
-- Per-statement values from context activities (course_iri, parent_iris) are silver columns
-- filled at extract time, so no view joins the bridge tables per statement.

CREATE OR REPLACE VIEW stmt AS
SELECT s.*,
       -- YYYYMMDD and HHMM by arithmetic: the same keys as strftime, without formatting text.
       CAST(year(s."timestamp") * 10000 + month(s."timestamp") * 100 + day(s."timestamp") AS INTEGER) AS date_key,
       CAST(hour(s."timestamp") * 100 + minute(s."timestamp") AS INTEGER) AS time_key
FROM silver_statement s
WHERE NOT s.voided AND s.voiding_target IS NULL;

CREATE OR REPLACE VIEW dim_date AS
SELECT CAST(strftime(d, '%Y%m%d') AS INTEGER) AS date_key,
       CAST(d AS DATE) AS date,
       year(d) AS year, quarter(d) AS quarter, month(d) AS month, day(d) AS day,
       isodow(d) AS iso_day_of_week, strftime(d, '%A') AS day_name,
       strftime(d, '%G-W%V') AS iso_week, isodow(d) >= 6 AS is_weekend
FROM (SELECT unnest(generate_series(
          coalesce((SELECT min(CAST("timestamp" AS DATE)) FROM silver_statement), DATE '2000-01-01'),
          coalesce((SELECT max(CAST("timestamp" AS DATE)) FROM silver_statement), DATE '2000-01-01'),
          INTERVAL 1 DAY)) AS d);

CREATE OR REPLACE VIEW dim_time AS
SELECT h * 100 + m AS time_key, h AS hour, m AS minute,
       CASE WHEN h < 6 THEN 'night' WHEN h < 12 THEN 'morning'
            WHEN h < 18 THEN 'afternoon' ELSE 'evening' END AS day_part
FROM range(24) t(h), range(60) u(m);

CREATE OR REPLACE VIEW dim_actor AS
SELECT actor_key,
       any_value(actor_object_type) AS actor_object_type,
       CASE WHEN actor_ifi IS NULL THEN 'anonymous' ELSE split_part(actor_ifi, ':', 1) END AS ifi_kind,
       CASE WHEN actor_ifi LIKE 'account:%' THEN split_part(substr(actor_ifi, 9), ' ', 1) END AS account_home_page,
       min("timestamp") AS first_seen, max("timestamp") AS last_seen
FROM stmt GROUP BY actor_key, actor_ifi;

-- PII kept apart: grant BI users dim_actor, and this table only where names/e-mails are allowed.
CREATE OR REPLACE VIEW dim_actor_pii AS
SELECT actor_key, actor_ifi AS ifi, arg_max(actor_name, seq) AS name,
       CASE WHEN actor_ifi LIKE 'mbox:%' THEN substr(actor_ifi, 13) END AS email
FROM stmt GROUP BY actor_key, actor_ifi;

CREATE OR REPLACE VIEW dim_verb AS
SELECT verb_iri AS verb_key, verb_iri, arg_max(verb_display, seq) AS display
FROM stmt GROUP BY verb_iri;

-- Latest definition seen wins (versioning of definitions is not modelled yet).
CREATE OR REPLACE VIEW dim_activity AS
SELECT any_value(activity_key) AS activity_key, object_id AS activity_iri,
       arg_max(object_activity_type, seq) FILTER (WHERE object_activity_type IS NOT NULL) AS activity_type,
       arg_max(object_name, seq) FILTER (WHERE object_name IS NOT NULL) AS name,
       arg_max(interaction_type, seq) FILTER (WHERE interaction_type IS NOT NULL) AS interaction_type,
       arg_max(correct_responses, seq) FILTER (WHERE correct_responses IS NOT NULL) AS correct_responses,
       arg_max(video_length, seq) FILTER (WHERE video_length IS NOT NULL) AS video_length_seconds
FROM stmt WHERE object_type = 'Activity' GROUP BY object_id;

CREATE OR REPLACE VIEW dim_course AS
SELECT any_value(course_key) AS course_key, course_iri,
       count(DISTINCT object_id) AS activities_seen, min("timestamp") AS first_seen
FROM stmt WHERE course_iri IS NOT NULL GROUP BY course_iri;

CREATE OR REPLACE VIEW dim_registration AS
SELECT registration_key, registration, arg_min(actor_key, seq) AS actor_key,
       arg_min(course_key, seq) FILTER (WHERE course_key IS NOT NULL) AS course_key,
       min("timestamp") AS first_seen, max("timestamp") AS last_seen, count(*) AS statements
FROM stmt WHERE registration IS NOT NULL GROUP BY registration_key, registration;

CREATE OR REPLACE VIEW dim_source AS
SELECT source_key, credential_id, authority_ifi, arg_max(authority_name, seq) AS authority_name, platform
FROM stmt GROUP BY source_key, credential_id, authority_ifi, platform;

CREATE OR REPLACE VIEW fact_statement AS
SELECT seq, statement_id, date_key, time_key, "timestamp", stored, actor_key, verb_iri AS verb_key,
       object_type, activity_key, course_key, registration_key, source_key,
       result_success, result_completion, score_scaled, score_raw, score_min, score_max,
       duration_seconds, progress
FROM stmt;

-- Answers to interactions (xAPI Data §2.4.4.1 interaction activities, result.response).
CREATE OR REPLACE VIEW fact_item_response AS
SELECT seq, statement_id, date_key, "timestamp", actor_key, activity_key AS item_key,
       assessment_key,
       registration_key, interaction_type, response, result_success AS correct,
       score_scaled, score_raw, score_max, duration_seconds
FROM stmt WHERE response IS NOT NULL OR interaction_type IS NOT NULL;

-- cmi5 §9.3 (launched, initialized, terminated, abandoned bracket a session; the terminated
-- duration is the session's total time, §9.5.4.1).
CREATE OR REPLACE VIEW fact_cmi5_session AS
SELECT cmi5_session_id AS session_id, any_value(registration_key) AS registration_key,
       any_value(actor_key) AS actor_key, arg_min(activity_key, seq) AS au_key,
       CAST(strftime(min("timestamp"), '%Y%m%d') AS INTEGER) AS date_key,
       min("timestamp") FILTER (WHERE verb_iri = 'http://adlnet.gov/expapi/verbs/launched') AS launched_at,
       min("timestamp") FILTER (WHERE verb_iri = 'http://adlnet.gov/expapi/verbs/initialized') AS initialized_at,
       max("timestamp") FILTER (WHERE verb_iri IN ('http://adlnet.gov/expapi/verbs/terminated',
                                                   'https://w3id.org/xapi/adl/verbs/abandoned')) AS ended_at,
       coalesce(max(duration_seconds) FILTER (WHERE verb_iri IN ('http://adlnet.gov/expapi/verbs/terminated',
                                                   'https://w3id.org/xapi/adl/verbs/abandoned')),
                date_diff('millisecond', min("timestamp"), max("timestamp")) / 1000.0) AS duration_seconds,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/terminated') AS terminated,
       bool_or(verb_iri = 'https://w3id.org/xapi/adl/verbs/abandoned') AS abandoned,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/completed') AS completed,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/passed') AS passed,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/failed') AS failed,
       max(score_scaled) AS score_scaled, max(progress) AS progress, count(*) AS statements
FROM stmt WHERE cmi5_session_id IS NOT NULL GROUP BY cmi5_session_id;

-- cmi5 §9.5 outcomes per registration and AU (course-level satisfied rows have no AU session).
CREATE OR REPLACE VIEW fact_registration_au AS
SELECT registration_key, actor_key, activity_key AS au_key,
       CAST(strftime(min("timestamp"), '%Y%m%d') AS INTEGER) AS date_key,
       count(*) FILTER (WHERE verb_iri = 'http://adlnet.gov/expapi/verbs/launched') AS launches,
       min("timestamp") AS first_at, max("timestamp") AS last_at,
       min("timestamp") FILTER (WHERE verb_iri = 'http://adlnet.gov/expapi/verbs/completed') AS completed_at,
       min("timestamp") FILTER (WHERE verb_iri = 'http://adlnet.gov/expapi/verbs/passed') AS passed_at,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/failed') AS ever_failed,
       bool_or(verb_iri = 'https://w3id.org/xapi/adl/verbs/waived') AS waived,
       bool_or(verb_iri = 'https://w3id.org/xapi/adl/verbs/satisfied') AS satisfied,
       max(score_scaled) AS best_score_scaled,
       sum(duration_seconds) FILTER (WHERE verb_iri IN ('http://adlnet.gov/expapi/verbs/terminated',
                                                        'https://w3id.org/xapi/adl/verbs/abandoned')) AS total_session_seconds
FROM stmt WHERE registration IS NOT NULL AND activity_key IS NOT NULL
GROUP BY registration_key, actor_key, activity_key;

-- xAPI Video Profile: played-segments is cumulative per session, so the largest union wins.
CREATE OR REPLACE VIEW fact_video_session AS
SELECT video_session_id AS session_id, any_value(actor_key) AS actor_key,
       any_value(activity_key) AS video_key, any_value(registration_key) AS registration_key,
       CAST(strftime(min("timestamp"), '%Y%m%d') AS INTEGER) AS date_key,
       min("timestamp") AS started_at, max("timestamp") AS ended_at,
       max(video_length) AS video_length_seconds,
       coalesce(max(video_watched_seconds), 0) AS watched_seconds,
       max(progress) AS progress,
       bool_or(verb_iri = 'http://adlnet.gov/expapi/verbs/completed') AS completed,
       count(*) FILTER (WHERE verb_iri = 'https://w3id.org/xapi/video/verbs/played') AS plays,
       count(*) FILTER (WHERE verb_iri = 'https://w3id.org/xapi/video/verbs/paused') AS pauses,
       count(*) FILTER (WHERE verb_iri = 'https://w3id.org/xapi/video/verbs/seeked') AS seeks
FROM stmt WHERE video_session_id IS NOT NULL GROUP BY video_session_id;

CREATE OR REPLACE VIEW fact_daily_activity AS
SELECT date_key, actor_key, count(*) AS statements,
       count(DISTINCT activity_key) AS activities,
       coalesce(sum(duration_seconds), 0) AS duration_seconds,
       count(*) FILTER (WHERE verb_iri IN ('http://adlnet.gov/expapi/verbs/completed',
                                           'http://adlnet.gov/expapi/verbs/passed')) AS completions
FROM stmt GROUP BY date_key, actor_key;
