//! What one Service write takes and gives back: the cluster IP and node ports it asks
//! for or is given, checked against the ranges and against what other Services hold.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::{Held, Ranges};
use crate::registry::error::FieldError;

/// The outcome of planning a write.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Records to create with the write.
    pub claims: Held,
    /// Records to release with the write.
    pub releases: Held,
    /// Which claims the client named itself (a lost race on them is the client's 422;
    /// on the others, the write picks again).
    pub requested: Held,
}

/// Why a write cannot get what it needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    /// Upstream's 422 on the Service.
    Invalid(Vec<FieldError>),
    /// Nothing free: upstream's 500 (`failed to allocate a serviceIP: range is full`).
    Full(String),
}

fn invalid(field: String, value: String, detail: String) -> FieldError {
    FieldError {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value}: {detail}"),
        field,
    }
}

/// Fills in `service`'s cluster IP and node ports (its defaults already applied) and
/// says which records the write must create and release. `old` is the stored Service
/// on an update; `taken` is what every other Service holds; `seed` spreads choices.
pub fn plan(
    ranges: &Ranges,
    service: &mut Value,
    old: Option<&Value>,
    taken: &Held,
    seed: u32,
) -> Result<Plan, Requested> {
    let before = old.map(Held::of).unwrap_or_default();
    let mut plan = Plan::default();
    let service_type = service["spec"]["type"]
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    if service_type != "ExternalName" {
        cluster_ip(ranges, service, &before, taken, seed, &mut plan)?;
    }
    let errors = if matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
        node_ports(ranges, service, &before, taken, seed, &mut plan)?
    } else {
        no_node_ports(service, &service_type)
    };
    if !errors.is_empty() {
        return Err(Requested::Invalid(errors));
    }
    let after = Held::of(service);
    plan.releases = Held {
        ips: before.ips.difference(&after.ips).copied().collect(),
        ports: before.ports.difference(&after.ports).copied().collect(),
    };
    Ok(plan)
}

fn cluster_ip(
    ranges: &Ranges,
    service: &mut Value,
    before: &Held,
    taken: &Held,
    seed: u32,
    plan: &mut Plan,
) -> Result<(), Requested> {
    let spec = &mut service["spec"];
    let asked = spec["clusterIP"]
        .as_str()
        .or_else(|| spec["clusterIPs"][0].as_str())
        .filter(|ip| !ip.is_empty())
        .map(str::to_string);
    let ip = match asked.as_deref() {
        Some("None") => {
            spec["clusterIP"] = json!("None");
            spec["clusterIPs"] = json!(["None"]);
            return Ok(());
        }
        Some(text) => {
            let field = "spec.clusterIPs".to_string();
            let value = format!("[]string{{{:?}}}", text);
            let Ok(ip) = text.parse::<Ipv4Addr>() else {
                let detail = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
                return Err(Requested::Invalid(vec![invalid(
                    "spec.clusterIPs[0]".into(),
                    format!("{text:?}"),
                    detail.into(),
                )]));
            };
            if !before.ips.contains(&ip) {
                let fail = |why: String| {
                    let detail = format!("failed to allocate IP {ip}: {why}");
                    Requested::Invalid(vec![invalid(field.clone(), value.clone(), detail)])
                };
                if !ranges.contains_ip(ip) {
                    return Err(fail(format!(
                        "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                        ranges.cidr()
                    )));
                }
                if taken.ips.contains(&ip) {
                    return Err(fail("provided IP is already allocated".into()));
                }
                plan.claims.ips.insert(ip);
                plan.requested.ips.insert(ip);
            }
            ip
        }
        None => {
            let ip = ranges.free_ip(&taken.ips, seed).ok_or_else(|| {
                Requested::Full("failed to allocate a serviceIP: range is full".into())
            })?;
            plan.claims.ips.insert(ip);
            ip
        }
    };
    spec["clusterIP"] = json!(ip.to_string());
    spec["clusterIPs"] = json!([ip.to_string()]);
    Ok(())
}

fn node_ports(
    ranges: &Ranges,
    service: &mut Value,
    before: &Held,
    taken: &Held,
    seed: u32,
    plan: &mut Plan,
) -> Result<Vec<FieldError>, Requested> {
    let mut errors = Vec::new();
    let mut here: BTreeSet<u16> = BTreeSet::new();
    let Some(ports) = service["spec"]["ports"].as_array_mut() else {
        return Ok(errors);
    };
    // Ports the client named are placed first, so a chosen one never takes them.
    for port in ports.iter() {
        if let Some(p) = port["nodePort"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
        {
            here.insert(p);
        }
    }
    for (i, port) in ports.iter_mut().enumerate() {
        let field = format!("spec.ports[{i}].nodePort");
        match port["nodePort"].as_u64().filter(|p| *p > 0) {
            Some(asked) => {
                let detail = match u16::try_from(asked) {
                    Ok(p) if before.ports.contains(&p) || plan.claims.ports.contains(&p) => None,
                    Ok(p) if !ranges.contains_port(p) => Some(format!(
                        "provided port is not in the valid range. The range of valid ports is {}",
                        ranges.port_range()
                    )),
                    Ok(p) if taken.ports.contains(&p) => {
                        Some("provided port is already allocated".to_string())
                    }
                    Ok(p) => {
                        plan.claims.ports.insert(p);
                        plan.requested.ports.insert(p);
                        None
                    }
                    Err(_) => Some("must be between 1 and 65535, inclusive".to_string()),
                };
                if let Some(detail) = detail {
                    errors.push(invalid(field, asked.to_string(), detail));
                }
            }
            None => {
                let mut busy = taken.ports.clone();
                busy.extend(here.iter().copied());
                let seed = seed.wrapping_add(u32::try_from(i).unwrap_or(0).wrapping_mul(7919));
                let p = ranges.free_port(&busy, seed).ok_or_else(|| {
                    Requested::Full("failed to allocate a nodePort: range is full".into())
                })?;
                here.insert(p);
                plan.claims.ports.insert(p);
                port["nodePort"] = json!(p);
            }
        }
    }
    Ok(errors)
}

/// Upstream refuses node ports on a Service that does not expose them.
fn no_node_ports(service: &Value, service_type: &str) -> Vec<FieldError> {
    service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, p)| p["nodePort"].as_u64().is_some_and(|n| n > 0))
        .map(|(i, _)| FieldError {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: may not be used when `type` is '{service_type}'"),
            field: format!("spec.ports[{i}].nodePort"),
        })
        .collect()
}
