//! The Python `kubernetes` client against keelson: runs tests/clients/python_client.py
//! (create, JSON / strategic / merge patch, server-side apply with a conflict and a forced
//! retry, deletes) against a real server with the admin kubeconfig.
//!
//! The interpreter comes from `KEELSON_PYTHON` (tests/run.sh points it at a virtualenv
//! under target/ with the pinned client installed), else `python3`. A missing client is
//! a failure with the command that installs it, not a skip.

mod support;

use std::process::Command;

use support::{run_with_timeout, Server, KUBECTL_TIMEOUT};

fn python() -> String {
    std::env::var("KEELSON_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_creates_patches_applies_and_deletes() {
    let python = python();
    let probe = run_with_timeout(
        {
            let mut cmd = Command::new(&python);
            cmd.args(["-c", "import kubernetes"]);
            cmd
        },
        KUBECTL_TIMEOUT,
    );
    assert!(
        probe.status.is_some_and(|s| s.success()),
        "{python} cannot import the kubernetes client ({}); run tests/run.sh, or \
         `pip install kubernetes==31.0.0` and set KEELSON_PYTHON to that interpreter",
        probe.text()
    );

    let server = Server::start().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/python_client.py"
    );
    let mut cmd = Command::new(&python);
    cmd.arg(script)
        .env("KUBECONFIG", server.kubeconfig())
        .env("HOME", server.data_dir());
    for var in support::PROXY_VARS {
        cmd.env_remove(var);
    }
    let out = run_with_timeout(cmd, KUBECTL_TIMEOUT * 2);
    assert!(
        out.status.is_some_and(|s| s.success()),
        "python client checks failed:\n{}\n{}",
        out.text(),
        server.describe()
    );
    assert!(
        out.text().contains("python client: all checks passed"),
        "{}",
        out.text()
    );
}
