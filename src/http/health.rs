//! Health endpoints as upstream: /healthz, /livez and /readyz, each with `?verbose`,
//! per-check paths (`/readyz/raft`) and `?exclude=`; and /version.

use serde_json::{json, Value};

/// A named check and whether it passes.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
}

/// The response to `/<endpoint>[/<check>]`: status code and plain-text body.
pub fn report(
    endpoint: &str,
    check: Option<&str>,
    checks: &[Check],
    verbose: bool,
    excluded: &[&str],
) -> (u16, String) {
    if let Some(name) = check {
        return match checks.iter().find(|c| c.name == name) {
            Some(c) if c.ok => (200, "ok".into()),
            Some(c) => (
                500,
                format!("internal server error: {} check failed\n", c.name),
            ),
            None => (404, "404 page not found\n".into()),
        };
    }
    let considered: Vec<&Check> = checks
        .iter()
        .filter(|c| !excluded.contains(&c.name))
        .collect();
    let healthy = considered.iter().all(|c| c.ok);
    if !verbose && healthy {
        return (200, "ok".into());
    }
    let mut body = String::new();
    for c in &considered {
        if c.ok {
            body.push_str(&format!("[+]{} ok\n", c.name));
        } else {
            body.push_str(&format!("[-]{} failed: reason withheld\n", c.name));
        }
    }
    for name in excluded {
        body.push_str(&format!("[+]{name} excluded: ok\n"));
    }
    if healthy {
        body.push_str(&format!("{endpoint} check passed\n"));
        (200, body)
    } else {
        body.push_str(&format!("{endpoint} check failed\n"));
        (500, body)
    }
}

/// /version: the Kubernetes API level keelson serves (clients check skew against it).
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": format!("v1.32.0-keelson.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": option_env!("KEELSON_GIT_COMMIT").unwrap_or("unknown"),
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "n/a (Rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if std::env::consts::ARCH == "x86_64" { "amd64" } else { std::env::consts::ARCH }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_and_per_check() {
        let checks = [
            Check {
                name: "ping",
                ok: true,
            },
            Check {
                name: "raft",
                ok: true,
            },
        ];
        assert_eq!(
            report("readyz", None, &checks, false, &[]),
            (200, "ok".to_string())
        );
        let (code, body) = report("readyz", None, &checks, true, &[]);
        assert_eq!(code, 200);
        assert!(body.contains("[+]raft ok") && body.ends_with("readyz check passed\n"));
        assert_eq!(report("readyz", Some("raft"), &checks, false, &[]).0, 200);
        assert_eq!(report("readyz", Some("nope"), &checks, false, &[]).0, 404);
        let failing = [Check {
            name: "raft",
            ok: false,
        }];
        let (code, body) = report("readyz", None, &failing, false, &[]);
        assert_eq!(code, 500);
        assert!(body.contains("[-]raft failed"));
    }
}
