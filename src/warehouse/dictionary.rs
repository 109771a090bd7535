//! The data dictionary (`docs/warehouse.md`), generated from the warehouse's own catalog so it
//! cannot drift: a test fails when the committed file is stale or a column has no meaning.

use super::schema::GOLD_RELATIONS;

/// What each relation holds.
const RELATIONS: &[(&str, &str)] = &[
    ("silver_statement", "Silver: one typed row per statement as stored in PostgreSQL (voided ones flagged). The statement's JSON stays in PostgreSQL (bronze), from which `cairn etl rebuild` reloads silver."),
    ("silver_statement_activity", "Silver bridge (view): the activities a statement mentions, by usage (object, parent, grouping, category, other, sub_*, target_*): object and parent rows from silver_statement, the others from silver_link_activity."),
    ("silver_statement_agent", "Silver bridge (view): the agents a statement mentions, by usage (actor, object, authority, instructor, team, member, context_*, sub_*, target_*): actor, object and authority rows from silver_statement, the others from silver_link_agent."),
    ("silver_link_activity", "Silver: the link rows to activities that silver_statement's columns do not hold (all but object and parent)."),
    ("silver_link_agent", "Silver: the link rows to agents that silver_statement's columns do not hold (all but actor, object and authority)."),
    ("etl_state", "One row: the ETL's high-water mark and the outcome of the last run (updated in the same transaction as each load)."),
    ("dim_date", "Calendar days from the first to the last statement timestamp (UTC)."),
    ("dim_time", "Minutes of the day (UTC)."),
    ("dim_actor", "Actors by inverse functional identifier, without personal data."),
    ("dim_actor_pii", "Personal data of actors, apart from dim_actor so that access can be granted separately."),
    ("dim_verb", "Verbs."),
    ("dim_activity", "Activities (statement objects), with their latest definition."),
    ("dim_course", "Courses: the first non-cmi5 contextActivities.grouping activity of statements."),
    ("dim_registration", "Registrations (context.registration), e.g. cmi5 or LMS enrolments."),
    ("dim_source", "Where statements came from: credential, authority and platform."),
    ("fact_statement", "One row per statement that is neither voided nor voiding."),
    ("fact_item_response", "Answers to interactions (statements with a response or an interaction activity)."),
    ("fact_cmi5_session", "One row per cmi5 session (sessionid context extension)."),
    ("fact_registration_au", "cmi5 outcomes per registration and assignable unit (or other object)."),
    ("fact_video_session", "One row per xAPI Video Profile session (session-id context extension)."),
    ("fact_daily_activity", "Statements, time and completions per actor and day."),
];

/// Meanings by column name (a name means the same thing in every relation).
const COLUMNS: &[(&str, &str)] = &[
    ("seq", "PostgreSQL change-feed sequence number of the statement"),
    ("store_id", "Cairn store (tenant) the statement belongs to"),
    ("insert_xid", "PostgreSQL transaction id that inserted the statement (NULL for rows older than the ETL)"),
    ("run_id", "ETL run that loaded the row"),
    ("statement_id", "xAPI statement id (UUID)"),
    ("stored", "When the LRS stored the statement (UTC)"),
    ("timestamp", "When the experience happened, per the statement (UTC)"),
    ("actor_ifi", "Actor's inverse functional identifier (mbox:, mbox_sha1sum:, openid:, account:homePage name)"),
    ("actor_object_type", "Agent or Group"),
    ("actor_name", "Actor's name as given in the statement (personal data)"),
    ("verb_iri", "Verb IRI"),
    ("verb_display", "Verb display text (en-US, en, und or first language)"),
    ("object_type", "Activity, Agent, Group, StatementRef or SubStatement"),
    ("object_id", "Activity IRI, agent IFI or referenced statement id"),
    ("object_activity_type", "Activity definition type IRI"),
    ("object_name", "Activity definition name"),
    ("interaction_type", "Interaction type of the activity definition (choice, fill-in, …)"),
    ("correct_responses", "Correct responses pattern of the interaction (JSON array)"),
    ("correct_responses_pattern", "Correct responses pattern of the interaction (JSON array)"),
    ("registration", "context.registration (UUID)"),
    ("cmi5_session_id", "cmi5 session id context extension"),
    ("video_session_id", "xAPI Video Profile session-id context extension"),
    ("result_success", "result.success"),
    ("result_completion", "result.completion"),
    ("score_scaled", "result.score.scaled (-1..1)"),
    ("score_raw", "result.score.raw"),
    ("score_min", "result.score.min"),
    ("score_max", "result.score.max"),
    ("duration_seconds", "Duration in seconds (ISO 8601 result.duration, summed where aggregated)"),
    ("response", "result.response"),
    ("progress", "Progress percentage (cmi5 or video progress result extension)"),
    ("video_length", "Video length in seconds (video length context extension)"),
    ("video_time", "Video playhead position in seconds (video time result extension)"),
    ("video_played_segments", "Video played-segments result extension (start[.]end[,]…)"),
    ("video_watched_seconds", "Seconds covered by the union of played segments"),
    ("voiding_target", "Statement id this statement voids"),
    ("voided", "The statement has been voided"),
    ("credential_id", "Cairn credential that stored the statement"),
    ("authority_ifi", "Authority's inverse functional identifier"),
    ("authority_name", "Authority's name"),
    ("platform", "context.platform"),
    ("language", "context.language"),
    ("usage", "Where in the statement the activity or agent appears"),
    ("activity_iri", "Activity IRI"),
    ("ifi", "Inverse functional identifier"),
    ("id", "Always 1"),
    ("xid_bound", "PostgreSQL transaction id below which every committed statement is loaded"),
    ("max_seq", "Largest seq loaded"),
    ("runs", "Completed ETL runs"),
    ("rows_total", "Statements loaded since the warehouse was created"),
    ("last_run_at", "End of the last completed run (UTC)"),
    ("last_run_rows", "Statements loaded by the last completed run"),
    ("last_run_ms", "Duration of the last completed run in milliseconds"),
    ("last_error", "Error of the last failed run, cleared by a successful one"),
    ("last_error_at", "When the last run failed (UTC)"),
    ("date_key", "Day as yyyymmdd (joins dim_date)"),
    ("time_key", "Minute of the day as hhmm (joins dim_time)"),
    ("date", "Calendar date"),
    ("year", "Year"),
    ("quarter", "Quarter 1-4"),
    ("month", "Month 1-12"),
    ("day", "Day of the month"),
    ("iso_day_of_week", "ISO day of the week (1 = Monday)"),
    ("day_name", "Name of the day"),
    ("iso_week", "ISO week (YYYY-Www)"),
    ("is_weekend", "Saturday or Sunday"),
    ("hour", "Hour 0-23"),
    ("minute", "Minute 0-59"),
    ("day_part", "night (0-5), morning (6-11), afternoon (12-17), evening (18-23)"),
    ("actor_key", "Actor key: md5_number_upper(IFI, or 'anonymous') >> 1; joins dim_actor"),
    ("ifi_kind", "mbox, mbox_sha1sum, openid, account or anonymous"),
    ("account_home_page", "homePage of an account IFI"),
    ("first_seen", "Earliest statement timestamp"),
    ("last_seen", "Latest statement timestamp"),
    ("name", "Name (latest seen)"),
    ("email", "E-mail address from an mbox IFI"),
    ("verb_key", "Verb key (the verb IRI; joins dim_verb)"),
    ("display", "Display text (latest seen)"),
    ("activity_key", "Activity key: md5_number_upper(IRI) >> 1; joins dim_activity"),
    ("activity_type", "Activity type IRI (latest seen)"),
    ("video_length_seconds", "Video length in seconds"),
    ("course_key", "Course key: md5_number_upper(course IRI) >> 1; joins dim_course"),
    ("course_iri", "Course activity IRI: the least contextActivities.grouping IRI outside the cmi5 namespace"),
    ("parent_iris", "contextActivities.parent activity IRIs"),
    ("activities_seen", "Distinct activities seen in the course"),
    ("registration_key", "Registration key: md5_number_upper(registration) >> 1; joins dim_registration"),
    ("statements", "Number of statements"),
    ("source_key", "Source key: md5_number_upper(credential id, authority IFI and platform joined by vertical bars) >> 1; joins dim_source"),
    ("item_key", "The interaction activity (joins dim_activity)"),
    ("assessment_key", "The least parent activity IRI's key, e.g. the quiz (joins dim_activity)"),
    ("correct", "The answer was correct (result.success)"),
    ("session_id", "Session id"),
    ("au_key", "The cmi5 assignable unit (joins dim_activity)"),
    ("launched_at", "cmi5 launched"),
    ("initialized_at", "cmi5 initialized"),
    ("ended_at", "Last terminated/abandoned (cmi5) or last statement (video)"),
    ("terminated", "The session was terminated"),
    ("abandoned", "The session was abandoned"),
    ("completed", "A completed statement was recorded"),
    ("passed", "A passed statement was recorded"),
    ("failed", "A failed statement was recorded"),
    ("launches", "cmi5 launched statements"),
    ("first_at", "First statement"),
    ("last_at", "Last statement"),
    ("completed_at", "First completed statement"),
    ("passed_at", "First passed statement"),
    ("ever_failed", "A failed statement was recorded"),
    ("waived", "A waived statement was recorded"),
    ("satisfied", "A satisfied statement was recorded"),
    ("best_score_scaled", "Best result.score.scaled"),
    ("total_session_seconds", "Sum of session durations (terminated/abandoned)"),
    ("video_key", "The video (joins dim_activity)"),
    ("started_at", "First statement of the session"),
    ("watched_seconds", "Seconds of video watched (union of played segments)"),
    ("plays", "played statements"),
    ("pauses", "paused statements"),
    ("seeks", "seeked statements"),
    ("activities", "Distinct activities"),
    ("completions", "completed or passed statements"),
];

/// The relations the dictionary lists, silver first.
pub fn relations() -> Vec<&'static str> {
    let mut r = vec![
        "silver_statement",
        "silver_statement_activity",
        "silver_statement_agent",
        "silver_link_activity",
        "silver_link_agent",
        "etl_state",
    ];
    r.extend_from_slice(GOLD_RELATIONS);
    r
}

/// Markdown for the warehouse's relations; fails naming any column without a meaning.
pub fn generate(conn: &duckdb::Connection) -> anyhow::Result<String> {
    let mut out = String::from(
        "# Warehouse data dictionary\n\n\
         Generated from the warehouse schema by `cairn etl dictionary` (a test fails when this \
         file is stale). Times are UTC `TIMESTAMP`s. Keys ending in `_key` join the dimension \
         of the same name.\n",
    );
    let mut missing = Vec::new();
    for rel in relations() {
        let about = RELATIONS
            .iter()
            .find(|(n, _)| *n == rel)
            .map(|(_, d)| *d)
            .unwrap_or("");
        let mut stmt = conn.prepare(
            "SELECT column_name, data_type FROM duckdb_columns()
             WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index",
        )?;
        let cols: Vec<(String, String)> = stmt
            .query_map([rel], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if cols.is_empty() {
            anyhow::bail!("relation {rel} is missing from the warehouse");
        }
        out.push_str(&format!(
            "\n## {rel}\n\n{about}\n\n| column | type | meaning |\n|---|---|---|\n"
        ));
        for (name, ty) in cols {
            match COLUMNS.iter().find(|(n, _)| *n == name) {
                Some((_, meaning)) => out.push_str(&format!("| `{name}` | {ty} | {meaning} |\n")),
                None => missing.push(format!("{rel}.{name}")),
            }
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "columns without a meaning in dictionary.rs: {}",
            missing.join(", ")
        );
    }
    Ok(out)
}
