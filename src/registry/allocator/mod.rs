//! Service cluster IPs and node ports: the ranges they come from
//! (`--service-cluster-ip-range`, `--service-node-port-range`), what a Service holds, and
//! the choice of free values. Pure: no I/O, so it is tested as plain functions.
//!
//! Safety across replicas does not rest on this choice but on allocation records: every
//! IP and node port a Service holds has a key of its own (`ip_key`, `port_key`), created
//! in the same all-or-nothing Raft batch as the Service and released in the batch that
//! deletes it (upstream's IPAddress objects play that part). Two replicas that pick the
//! same free address race on its record's create, and exactly one batch wins.

mod plan;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

use serde_json::Value;

pub use plan::{plan, Plan, Requested};

/// Where allocation records live in the state (no kind serves them).
pub const IP_RECORDS: &str = "/registry/keelson/serviceips/";
pub const PORT_RECORDS: &str = "/registry/keelson/servicenodeports/";

/// The ranges Services draw from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranges {
    pub network: Ipv4Addr,
    pub prefix: u8,
    pub node_ports: (u16, u16),
}

impl Default for Ranges {
    /// kube-apiserver's defaults: 10.0.0.0/24 and 30000-32767.
    fn default() -> Self {
        Self {
            network: Ipv4Addr::new(10, 0, 0, 0),
            prefix: 24,
            node_ports: (30000, 32767),
        }
    }
}

static RANGES: OnceLock<Ranges> = OnceLock::new();

/// Sets the ranges for this process (once, at start; later calls are ignored).
pub fn configure(ranges: Ranges) {
    let _ = RANGES.set(ranges);
}

pub fn ranges() -> &'static Ranges {
    RANGES.get_or_init(Ranges::default)
}

/// Parses `--service-cluster-ip-range` (an IPv4 CIDR of at most 2^20 addresses, /12 or
/// longer, as upstream limits the bitmap allocator; at least /30 so it holds an address).
pub fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (ip, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not a CIDR (address/prefix)"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| {
        format!("{ip:?} is not an IPv4 address (IPv6 service ranges are not supported yet)")
    })?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| (12..=30).contains(p))
        .ok_or_else(|| format!("prefix /{prefix} must be between /12 and /30"))?;
    let mask = u32::MAX << (32 - prefix);
    Ok((Ipv4Addr::from(u32::from(ip) & mask), prefix))
}

/// Parses `--service-node-port-range` (`30000-32767`, or a single port).
pub fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let parse = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("{p:?} is not a port number"))
    };
    let (low, high) = (parse(low)?, parse(high)?);
    if low > high {
        return Err(format!("{text:?}: the range is empty"));
    }
    Ok((low, high))
}

impl Ranges {
    fn base(&self) -> u32 {
        u32::from(self.network)
    }

    fn size(&self) -> u32 {
        1u32 << (32 - self.prefix)
    }

    /// `10.0.0.0/24`, as upstream's messages print the range.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.network, self.prefix)
    }

    pub fn port_range(&self) -> String {
        format!("{}-{}", self.node_ports.0, self.node_ports.1)
    }

    /// The first usable address: `default/kubernetes` takes it.
    pub fn first_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base() + 1)
    }

    /// Whether `ip` is usable: inside the range, not its network or broadcast address.
    pub fn contains_ip(&self, ip: Ipv4Addr) -> bool {
        let offset = u32::from(ip).wrapping_sub(self.base());
        u32::from(ip) >= self.base() && offset >= 1 && offset < self.size() - 1
    }

    pub fn contains_port(&self, port: u16) -> bool {
        (self.node_ports.0..=self.node_ports.1).contains(&port)
    }

    /// A free address for a new Service, scanning from `seed`; never the first address
    /// (reserved for `default/kubernetes`).
    pub fn free_ip(&self, taken: &BTreeSet<Ipv4Addr>, seed: u32) -> Option<Ipv4Addr> {
        let usable = self.size() - 3; // network, broadcast, first
        (0..usable)
            .map(|i| Ipv4Addr::from(self.base() + 2 + (seed.wrapping_add(i) % usable)))
            .find(|ip| !taken.contains(ip))
    }

    /// A free node port, scanning from `seed`.
    pub fn free_port(&self, taken: &BTreeSet<u16>, seed: u32) -> Option<u16> {
        let (low, high) = self.node_ports;
        let count = u32::from(high - low) + 1;
        (0..count)
            .filter_map(|i| u16::try_from(u32::from(low) + (seed.wrapping_add(i) % count)).ok())
            .find(|p| !taken.contains(p))
    }
}

pub fn ip_key(ip: Ipv4Addr) -> String {
    format!("{IP_RECORDS}{ip}")
}

pub fn port_key(port: u16) -> String {
    format!("{PORT_RECORDS}{port}")
}

/// The cluster IPs and node ports a stored Service holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub ips: BTreeSet<Ipv4Addr>,
    pub ports: BTreeSet<u16>,
}

impl Held {
    pub fn of(service: &Value) -> Held {
        let spec = &service["spec"];
        let mut ips: BTreeSet<Ipv4Addr> = spec["clusterIPs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|ip| ip.parse().ok())
            .collect();
        if let Some(ip) = spec["clusterIP"].as_str().and_then(|ip| ip.parse().ok()) {
            ips.insert(ip);
        }
        let ports = spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["nodePort"].as_u64())
            .filter_map(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .collect();
        Held { ips, ports }
    }

    pub fn extend(&mut self, other: Held) {
        self.ips.extend(other.ips);
        self.ports.extend(other.ports);
    }

    /// What the records under `keys` stand for (other keys are ignored).
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Held {
        let mut held = Held::default();
        for key in keys {
            if let Some(ip) = key.strip_prefix(IP_RECORDS).and_then(|ip| ip.parse().ok()) {
                held.ips.insert(ip);
            } else if let Some(p) = key.strip_prefix(PORT_RECORDS).and_then(|p| p.parse().ok()) {
                held.ports.insert(p);
            }
        }
        held
    }

    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.ports.is_empty()
    }

    /// The records of everything held.
    pub fn keys(&self) -> Vec<String> {
        let ips = self.ips.iter().map(|ip| ip_key(*ip));
        ips.chain(self.ports.iter().map(|p| port_key(*p))).collect()
    }
}

#[cfg(test)]
mod tests;
