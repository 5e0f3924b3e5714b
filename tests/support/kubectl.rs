//! kubectl as a user runs it: the admin kubeconfig, a time limit, nothing inherited that
//! could send it anywhere but the test server.

use std::process::{Command, Output, Stdio};

use super::{kubectl_program, run_with_timeout, Server, KUBECTL_TIMEOUT};

/// A kubectl command using `kubeconfig`, with HOME and the discovery cache inside `root`
/// and no proxy settings inherited (shared by the one-node and the cluster harness).
pub fn kubectl_with(
    kubeconfig: &std::path::Path,
    root: &std::path::Path,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new(kubectl_program());
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", root)
        .env("KUBECACHEDIR", root.join("kubecache"))
        .stdin(Stdio::null());
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Proxy settings a test's child processes must not inherit (all traffic is loopback).
pub const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Server {
    /// A kubectl command using the admin kubeconfig, with HOME and the discovery cache
    /// inside the test's directory and no proxy settings inherited.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        kubectl_with(&self.kubeconfig(), &self.root, args)
    }

    /// Runs kubectl (at most `KUBECTL_TIMEOUT`) and returns its output, success or not.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let out = run_with_timeout(self.kubectl_command(args), KUBECTL_TIMEOUT);
        match out.status {
            Some(status) => Output { status, stdout: out.stdout, stderr: out.stderr },
            None => panic!(
                "kubectl {args:?} did not finish within {KUBECTL_TIMEOUT:?}\nstdout: {}\nstderr: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.describe()
            ),
        }
    }

    /// Runs kubectl, asserts it succeeded, and returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed with {}\nstdout: {}\nstderr: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.describe()
        );
        String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
    }

    /// Runs kubectl, asserts it failed, and returns its stderr.
    pub fn kubectl_err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} succeeded but should have failed\nstdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
