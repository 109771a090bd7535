//! Interoperability with a real xAPI client library: `@xapi/xapi` from npm drives Cairn
//! (tests/interop/client.mjs) — a statement with an attachment, a batch, filtered queries
//! followed through `more`, and the attachment read back with `attachments=true`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::helpers::spawn_app;

/// Installs the pinned client (package-lock.json) from the npm registry when it is missing.
fn install_client(dir: &Path) {
    if dir.join("node_modules/@xapi/xapi").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .expect("npm is needed to install the @xapi/xapi client (tests/interop)");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}

#[tokio::test]
async fn xapi_client_library_sends_queries_and_pages_with_attachments() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    install_client(&dir);
    let app = spawn_app().await;
    let output = tokio::process::Command::new("node")
        .arg("client.mjs")
        .current_dir(&dir)
        .env("CAIRN_ENDPOINT", app.url("/xapi/"))
        .env("CAIRN_KEY", &app.key)
        .env("CAIRN_SECRET", &app.secret)
        .output()
        .await
        .expect("node is needed to run tests/interop/client.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the client failed: {stderr}\n{stdout}"
    );
    let summary: Value = serde_json::from_str(stdout.trim()).expect("the client prints JSON");
    assert_eq!(summary["statements"], 25);
    assert_eq!(summary["pages"], 3);
    assert_eq!(summary["attachment"], "certificate of completion — ✓");
    assert_eq!(app.statement_count().await, 25);
}
