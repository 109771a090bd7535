//! The foundation: the `cairn` binary, settings, the managed local PostgreSQL, CORS, body
//! limits, authentication.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn::auth::Scope;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, statement, TestApp, V1, V2};

const BIN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn() -> Command {
    let mut cmd = Command::new(BIN);
    // Tests must not inherit a developer's or CI's database settings.
    for var in [
        "DATABASE_URL",
        "CAIRN_DATABASE_URL",
        "CAIRN_CONFIG",
        "CAIRN_LISTEN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn help_explains_every_command_and_option() {
    let out = cairn().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "credentials", "--config"] {
        assert!(text.contains(word), "`cairn --help` lacks {word}:\n{text}");
    }
    let out = cairn().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--listen",
        "--database-url",
        "--data-dir",
        "--max-body-bytes",
        "CAIRN_DATABASE_URL",
        "DATABASE_URL",
    ] {
        assert!(
            text.contains(word),
            "`cairn serve --help` lacks {word}:\n{text}"
        );
    }
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_key() {
    let out = cairn()
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`listen`") && err.contains("--listen"),
        "{err}"
    );

    let out = cairn()
        .args(["serve"])
        .env("CAIRN_MAX_BODY_BYTES", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`max_body_bytes`") && err.contains("CAIRN_MAX_BODY_BYTES"),
        "{err}"
    );
}

#[test]
fn missing_postgres_binaries_are_explained() {
    let out = cairn()
        .args([
            "serve",
            "--pg-bin-dir",
            "/nonexistent",
            "--data-dir",
            "/tmp/cairn-none",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("initdb") && err.contains("postgres"), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_about(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/xapi/about")).await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("cairn exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "cairn did not answer within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn postgres_running_in(dir: &std::path::Path) -> bool {
    let out = Command::new("pgrep")
        .args(["-f", &dir.join("postgres").display().to_string()])
        .output()
        .unwrap();
    !out.stdout.is_empty()
}

/// With no database URL, `cairn serve` runs a private PostgreSQL in its data directory,
/// reuses it on the next start, and leaves no process behind after SIGTERM.
#[tokio::test]
async fn zero_configuration_runs_a_managed_postgres_and_stops_it() {
    let dir = std::env::temp_dir().join(format!("cairn-zero-{}", uuid::Uuid::new_v4().simple()));
    for round in 0..2 {
        let port = free_port();
        let mut child = cairn()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_about(port, &mut child).await;
        assert!(
            dir.join("postgres/PG_VERSION").exists(),
            "round {round}: no cluster"
        );
        assert!(postgres_running_in(&dir));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "cairn did not stop after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            child.wait().unwrap().success(),
            "round {round}: unclean exit"
        );
        assert!(
            !postgres_running_in(&dir),
            "round {round}: orphan postgres left"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cairn credentials create` prints a key and secret that work against the server.
#[tokio::test]
async fn credentials_cli_creates_lists_and_revokes() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        let out = cairn()
            .args(["credentials", "--database-url", &app.db.url])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let created = run(&[
        "create",
        "--name",
        "lms",
        "--scopes",
        "statements/write,statements/read",
    ]);
    let field = |name: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (key, secret) = (field("key:"), field("secret:"));
    let post = || {
        app.client
            .post(app.url("/xapi/statements"))
            .basic_auth(&key, Some(&secret))
            .header("X-Experience-API-Version", V1)
            .json(&statement())
            .send()
    };
    assert_eq!(post().await.unwrap().status(), StatusCode::OK);
    let listed = run(&["list"]);
    assert!(
        listed.contains(&key) && listed.contains("statements/write"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "list must never print secrets");
    // Past auth_cache_seconds (1 s in tests) the entry is renewed from the credential's row.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(post().await.unwrap().status(), StatusCode::OK);
    let wrong = app
        .client
        .post(app.url("/xapi/statements"))
        .basic_auth(&key, Some("not-the-secret"))
        .header("X-Experience-API-Version", V1)
        .json(&statement())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    run(&["revoke", &key]);
    // The verified-credential cache holds for auth_cache_seconds (1 s in tests).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(post().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_with_a_json_error() {
    let app = spawn_app_with(|s| s.max_body_bytes = 2_000).await;
    let big: Vec<Value> = (0..50).map(|_| statement()).collect();
    let r = app
        .request(Method::POST, "/xapi/statements", V2)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(app.statement_count().await, 0);
}

/// POSTs `body` to the Statements Resource as JSON, byte for byte.
async fn post_json_bytes(app: &TestApp, body: Vec<u8>) -> reqwest::Response {
    app.request(Method::POST, "/xapi/statements", V2)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Malformed JSON, and a body that is not UTF-8 (RFC 8259 §8.1: JSON text exchanged between
/// systems is UTF-8), are a 400 naming the problem whether the body is parsed on the
/// request's task (small) or on a blocking thread (large, `PARSE_INLINE_BYTES`), and store
/// nothing.
#[tokio::test]
async fn malformed_json_or_utf8_is_a_400_at_any_size() {
    let app = spawn_app().await;
    fn cut_short(mut body: Vec<u8>) -> Vec<u8> {
        body.pop(); // the closing `]`
        body
    }
    // Inside the last statement's padding string: a byte that never occurs in UTF-8.
    fn not_utf8(mut body: Vec<u8>) -> Vec<u8> {
        let at = body.iter().rposition(|&b| b == b'x').unwrap();
        body[at] = 0xff;
        body
    }
    let cases = [
        ("not valid JSON", cut_short as fn(Vec<u8>) -> Vec<u8>),
        ("not valid UTF-8", not_utf8),
    ];
    for (problem, spoil) in cases {
        for n in [1, 100] {
            let body = spoil(serde_json::to_vec(&padded_batch(n)).unwrap());
            let r = post_json_bytes(&app, body).await;
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "{problem}, {n} statements"
            );
            let error: Value = r.json().await.unwrap();
            let message = error["message"].as_str().unwrap_or_default();
            assert!(message.contains(problem), "{n}: {message}");
        }
    }
    assert_eq!(app.statement_count().await, 0);
}

/// Statements with a 2 KB result extension each, `n` of them.
fn padded_batch(n: usize) -> Value {
    let pad = "x".repeat(2_000);
    Value::Array(
        (0..n)
            .map(|_| {
                let mut s = statement();
                s["result"] = serde_json::json!({"extensions": {"http://example.com/pad": pad}});
                s
            })
            .collect(),
    )
}

/// Statement writes are admitted by body size (`api::WRITE_BODY_BUDGET_KIB`): a
/// declared body larger than the whole budget is admitted alone, not refused, and so is a
/// chunked body, whose size is not known in advance.
#[tokio::test]
async fn writes_larger_than_the_body_budget_are_admitted_alone() {
    let app = spawn_app().await;
    let big = serde_json::to_vec(&padded_batch(2_500)).unwrap();
    let budget = cairn::api::WRITE_BODY_BUDGET_KIB as usize * 1024;
    assert!(big.len() > budget, "{} bytes", big.len());
    let r = post_json_bytes(&app, big).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    assert_eq!(app.statement_count().await, 2_500);

    // Chunked: a hand-written HTTP/1.1 request (reqwest sends a Content-Length).
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_vec(&padded_batch(10)).unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", app.key, app.secret));
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut request = format!(
        "POST /xapi/statements HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n\
         X-Experience-API-Version: {V2}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(4_096) {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(app.statement_count().await, 2_510);
}

/// Browser content on another origin can call the LRS (CORS preflight and simple requests).
#[tokio::test]
async fn cors_allows_browser_content() {
    let app = spawn_app().await;
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/xapi/statements"))
        .header("Origin", "https://content.example.com")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-experience-api-version",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "preflight: {}", r.status());
    assert!(r.headers().contains_key("access-control-allow-origin"));
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("x-experience-api-version"), "{allowed}");

    let r = app
        .request(Method::POST, "/xapi/statements", V1)
        .header("Origin", "https://content.example.com")
        .json(&statement())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let app = spawn_app().await;
    let r = app
        .request(Method::GET, "/xapi/nothing", V1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not_found");
    let r = app
        .request(Method::DELETE, "/xapi/statements", V1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key("x-experience-api-version"));
}

/// A credential without statement scopes is refused with 403, not 401.
#[tokio::test]
async fn scopes_are_enforced() {
    let app = spawn_app().await;
    let (key, secret) = app.credential(&[Scope::State, Scope::Profile]).await;
    let r = app
        .client
        .post(app.url("/xapi/statements"))
        .basic_auth(&key, Some(&secret))
        .header("X-Experience-API-Version", V2)
        .json(&statement())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "forbidden");
}
