//! The harness's own little network: one network namespace per replica, joined by veth
//! pairs to a bridge that also carries the host's address, so HAProxy and the clients
//! (on the host) reach every replica while links between replicas can be cut, made lossy
//! or slowed without touching anything the harness did not create.
//!
//! ```text
//!   host: bridge <p>br 10.213.S.1 ── veth ── ns <p>n1: eth0 10.213.S.11
//!                                  ── veth ── ns <p>n2: eth0 10.213.S.12   ...
//! ```
//!
//! Faults are installed inside the replicas' namespaces only: blackhole routes for
//! partitions (both ways, or one way), nftables `numgen random` rules for packet loss,
//! and a tc qdisc for delay (netem where the kernel has it, otherwise a token bucket that
//! slows the link). [`Network::heal`] removes all of them; dropping the network deletes
//! the namespaces, the veths and the bridge.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// Replica slots: three from local-up.sh and one for a member that joins later.
pub const SLOTS: u64 = 4;

pub struct Network {
    prefix: String,
    subnet: u8,
    /// Whether the kernel has tc netem (probed once when a delay is first asked for).
    netem: Option<bool>,
}

impl Network {
    /// Creates the bridge and one namespace per slot. `tag` keeps names unique per run.
    pub fn create(tag: u32) -> Result<Self> {
        let prefix = format!("kc{}", tag % 100_000);
        let subnet = (tag % 200) as u8 + 20;
        let net = Network {
            prefix,
            subnet,
            netem: None,
        };
        net.teardown_quietly();
        let bridge = net.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])
            .context("create the harness bridge (this needs root, or CAP_NET_ADMIN)")?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", net.host_ip()),
            "dev",
            &bridge,
        ])?;
        ip(&["link", "set", &bridge, "up"])?;
        for slot in 1..=SLOTS {
            let ns = net.namespace(slot);
            let outside = format!("{}v{slot}", net.prefix);
            let inside = format!("{}i{slot}", net.prefix);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ])?;
            ip(&["link", "set", &inside, "netns", &ns])?;
            ip(&["-n", &ns, "link", "set", &inside, "name", "eth0"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", net.replica_ip(slot)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&["link", "set", &outside, "master", &bridge])?;
            ip(&["link", "set", &outside, "up"])?;
        }
        Ok(net)
    }

    pub fn namespace(&self, slot: u64) -> String {
        format!("{}n{slot}", self.prefix)
    }

    pub fn replica_ip(&self, slot: u64) -> String {
        format!("10.213.{}.{}", self.subnet, 10 + slot)
    }

    fn host_ip(&self) -> String {
        format!("10.213.{}.1", self.subnet)
    }

    fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }

    /// Cuts every link between `a` and `b`, both ways (clients still reach both).
    pub fn partition(&self, a: u64, b: u64) -> Result<()> {
        self.drop_one_way(a, b)?;
        self.drop_one_way(b, a)
    }

    /// Drops every packet `from` sends to `to`; packets from `to` still arrive.
    pub fn drop_one_way(&self, from: u64, to: u64) -> Result<()> {
        ip(&[
            "-n",
            &self.namespace(from),
            "route",
            "add",
            "blackhole",
            &format!("{}/32", self.replica_ip(to)),
        ])
    }

    /// Drops `percent` of the packets between `slot` and the other replicas, each way,
    /// at random (nftables in the replica's namespace).
    pub fn lossy(&self, slot: u64, percent: u32) -> Result<()> {
        let ns = self.namespace(slot);
        let others: Vec<String> = (1..=SLOTS)
            .filter(|&s| s != slot)
            .map(|s| self.replica_ip(s))
            .collect();
        let set = others.join(", ");
        let rules = format!(
            "table inet chaos {{\n\
             \tchain out {{ type filter hook output priority 0; ip daddr {{ {set} }} numgen random mod 100 < {percent} drop; }}\n\
             \tchain in {{ type filter hook input priority 0; ip saddr {{ {set} }} numgen random mod 100 < {percent} drop; }}\n\
             }}\n"
        );
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &ns, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("run nft (Debian package nftables)")?;
        if let Some(mut stdin) = nft.stdin.take() {
            use std::io::Write as _;
            stdin.write_all(rules.as_bytes())?;
        }
        let out = nft.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "nft in {ns} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Delays or slows `slot`'s link: netem delay when the kernel has it, otherwise a
    /// token bucket at 1 Mbit/s, which queues (delays) and drops what exceeds it.
    /// Returns which one was installed.
    pub fn slow(&mut self, slot: u64) -> Result<&'static str> {
        let ns = self.namespace(slot);
        if self.netem != Some(false) {
            let netem = tc(&[
                "-n", &ns, "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "100ms", "50ms",
            ]);
            self.netem = Some(netem.is_ok());
            if netem.is_ok() {
                return Ok("netem delay 100ms±50ms");
            }
        }
        tc(&[
            "-n", &ns, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "1mbit", "burst",
            "16kb", "latency", "200ms",
        ])?;
        Ok("tbf rate 1mbit latency 200ms (this kernel has no netem)")
    }

    /// Removes every fault from every namespace.
    pub fn heal(&self) -> Result<()> {
        for slot in 1..=SLOTS {
            let ns = self.namespace(slot);
            for other in 1..=SLOTS {
                let route = format!("{}/32", self.replica_ip(other));
                let _ = ip(&["-n", &ns, "route", "del", "blackhole", &route]);
            }
            let _ = tc(&["-n", &ns, "qdisc", "del", "dev", "eth0", "root"]);
            let _ = run(Command::new("ip").args([
                "netns", "exec", &ns, "nft", "delete", "table", "inet", "chaos",
            ]));
        }
        Ok(())
    }

    fn teardown_quietly(&self) {
        for slot in 1..=SLOTS {
            let _ = ip(&["netns", "del", &self.namespace(slot)]);
            let _ = ip(&["link", "del", &format!("{}v{slot}", self.prefix)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.teardown_quietly();
    }
}

fn ip(args: &[&str]) -> Result<()> {
    run(Command::new("ip").args(args))
}

fn tc(args: &[&str]) -> Result<()> {
    run(Command::new("tc").args(args))
}

fn run(command: &mut Command) -> Result<()> {
    let out = command
        .output()
        .with_context(|| format!("run {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
