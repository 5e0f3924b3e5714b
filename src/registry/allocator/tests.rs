use serde_json::json;

use super::*;

fn held(ips: &[&str], ports: &[u16]) -> Held {
    Held {
        ips: ips.iter().map(|ip| ip.parse().unwrap()).collect(),
        ports: ports.iter().copied().collect(),
    }
}

#[test]
fn flags_parse_as_upstream_ranges() {
    assert_eq!(
        parse_cidr("10.0.0.7/24").unwrap(),
        (Ipv4Addr::new(10, 0, 0, 0), 24)
    );
    assert!(parse_cidr("10.0.0.0").is_err());
    assert!(parse_cidr("fd00::/108").is_err());
    assert!(parse_cidr("10.0.0.0/8").is_err());
    assert_eq!(parse_port_range("30000-32767").unwrap(), (30000, 32767));
    assert!(parse_port_range("5-1").is_err());
}

#[test]
fn the_range_excludes_network_and_broadcast() {
    let r = Ranges::default();
    assert_eq!(r.first_ip(), Ipv4Addr::new(10, 0, 0, 1));
    assert!(r.contains_ip("10.0.0.254".parse().unwrap()));
    assert!(!r.contains_ip("10.0.0.0".parse().unwrap()));
    assert!(!r.contains_ip("10.0.0.255".parse().unwrap()));
    assert!(!r.contains_ip("10.0.1.1".parse().unwrap()));
    assert!(!r.contains_ip("9.255.255.255".parse().unwrap()));
}

#[test]
fn free_choices_skip_taken_and_the_first_address() {
    let r = Ranges {
        prefix: 30,
        ..Ranges::default()
    };
    // A /30 holds .1 (reserved for default/kubernetes) and .2.
    assert_eq!(
        r.free_ip(&BTreeSet::new(), 7),
        Some(Ipv4Addr::new(10, 0, 0, 2))
    );
    let all = [Ipv4Addr::new(10, 0, 0, 2)].into();
    assert_eq!(r.free_ip(&all, 0), None);
    let ports = Ranges {
        node_ports: (30000, 30001),
        ..Ranges::default()
    };
    assert_eq!(ports.free_port(&[30000].into(), 0), Some(30001));
    assert_eq!(ports.free_port(&[30000, 30001].into(), 5), None);
}

#[test]
fn a_new_service_gets_an_ip_and_node_ports() {
    let mut svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30005}]}});
    let taken = held(&["10.0.0.2"], &[30000]);
    let plan = plan(&Ranges::default(), &mut svc, None, &taken, 0).unwrap();
    let ip: Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
    assert_ne!(ip, Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(svc["spec"]["clusterIPs"], json!([ip.to_string()]));
    let auto = svc["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
    assert!(auto != 30000 && auto != 30005);
    assert_eq!(plan.requested, held(&[], &[30005]));
    assert_eq!(plan.claims.ips.len(), 1);
    assert_eq!(plan.claims.ports.len(), 2);
    assert!(plan.releases.is_empty());
}

#[test]
fn requested_values_are_checked_with_upstream_messages() {
    let r = Ranges::default();
    let mut out = json!({"spec": {"clusterIP": "10.1.0.5"}});
    let Err(Requested::Invalid(e)) = plan(&r, &mut out, None, &Held::default(), 0) else {
        panic!("accepted an IP out of range")
    };
    assert_eq!(e[0].field, "spec.clusterIPs");
    assert_eq!(e[0].message, "Invalid value: []string{\"10.1.0.5\"}: failed to allocate IP 10.1.0.5: the provided IP (10.1.0.5) is not in the valid range. The range of valid IPs is 10.0.0.0/24");
    let mut dup = json!({"spec": {"clusterIP": "10.0.0.9"}});
    let Err(Requested::Invalid(e)) = plan(&r, &mut dup, None, &held(&["10.0.0.9"], &[]), 0) else {
        panic!("accepted a taken IP")
    };
    assert!(e[0]
        .message
        .ends_with("failed to allocate IP 10.0.0.9: provided IP is already allocated"));
    let mut port = json!({"spec": {"type": "NodePort", "ports": [{"port": 1, "nodePort": 40000}]}});
    let Err(Requested::Invalid(e)) = plan(&r, &mut port, None, &Held::default(), 0) else {
        panic!("accepted a port out of range")
    };
    assert_eq!(e[0].field, "spec.ports[0].nodePort");
    assert_eq!(e[0].message, "Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767");
    let mut cluster =
        json!({"spec": {"type": "ClusterIP", "ports": [{"port": 1, "nodePort": 30001}]}});
    let Err(Requested::Invalid(e)) = plan(&r, &mut cluster, None, &Held::default(), 0) else {
        panic!("accepted a node port on a ClusterIP service")
    };
    assert_eq!(
        e[0].message,
        "Forbidden: may not be used when `type` is 'ClusterIP'"
    );
}

#[test]
fn headless_stays_headless_and_updates_release_what_they_drop() {
    let r = Ranges::default();
    let mut headless = json!({"spec": {"clusterIP": "None"}});
    let p = plan(&r, &mut headless, None, &Held::default(), 0).unwrap();
    assert!(p.claims.is_empty());
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));

    let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.4", "ports": [{"port": 80, "nodePort": 30080}]}});
    let mut new =
        json!({"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.4", "ports": [{"port": 80}]}});
    let p = plan(&r, &mut new, Some(&old), &Held::default(), 0).unwrap();
    assert!(p.claims.is_empty());
    assert_eq!(p.releases, held(&[], &[30080]));
}

#[test]
fn held_round_trips_through_record_keys() {
    let h = held(&["10.0.0.3"], &[30001]);
    let keys = h.keys();
    assert_eq!(
        keys,
        [
            "/registry/keelson/serviceips/10.0.0.3",
            "/registry/keelson/servicenodeports/30001"
        ]
    );
    assert_eq!(Held::from_keys(keys.iter().map(String::as_str)), h);
}
