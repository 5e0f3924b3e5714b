//! Service cluster IPs and node ports: Services get upstream's defaults and distinct
//! cluster IPs from the service range; a requested IP outside the range or already taken,
//! and a node port outside its range or taken, get upstream's 422; headless stays
//! headless; a deleted Service's addresses can be taken again; `default/kubernetes` holds
//! the first address; `kubectl get svc` shows the CLUSTER-IP.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{eventually, Server};

const SVCS: &str = "/api/v1/namespaces/default/services";

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

async fn create(server: &Server, name: &str, spec: Value) -> (StatusCode, Value) {
    server.post(SVCS, &service(name, spec)).await
}

async fn create_ok(server: &Server, name: &str, spec: Value) -> Value {
    let (status, body) = create(server, name, spec).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn services_get_distinct_cluster_ips_and_upstream_defaults() {
    let server = Server::start().await;
    let kubernetes = eventually("default/kubernetes", Duration::from_secs(30), || async {
        let (status, svc) = server.get(&format!("{SVCS}/kubernetes")).await;
        (status == StatusCode::OK).then_some(svc)
    })
    .await;
    assert_eq!(kubernetes["spec"]["clusterIP"], "10.0.0.1");

    let first = create_ok(&server, "web", json!({"ports": [{"port": 80}]})).await;
    let spec = &first["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["clusterIPs"], json!([spec["clusterIP"]]));

    // Creates in parallel never share an address.
    let creates = (0..20).map(|i| {
        let server = &server;
        async move {
            create_ok(
                server,
                &format!("svc-{i}"),
                json!({"ports": [{"port": 80}]}),
            )
            .await
        }
    });
    let created = futures::future::join_all(creates).await;
    let mut ips: BTreeSet<String> = created
        .iter()
        .map(|s| {
            s["spec"]["clusterIP"]
                .as_str()
                .expect("clusterIP")
                .to_string()
        })
        .collect();
    ips.insert(spec["clusterIP"].as_str().unwrap_or_default().to_string());
    ips.insert("10.0.0.1".into());
    assert_eq!(ips.len(), 22, "{ips:?}");
    for ip in &ips {
        let ip: std::net::Ipv4Addr = ip.parse().expect("an IPv4 address");
        assert_eq!(ip.octets()[..3], [10, 0, 0], "{ip} out of 10.0.0.0/24");
        assert!(ip.octets()[3] != 0 && ip.octets()[3] != 255);
    }

    // kubectl prints the address under CLUSTER-IP.
    let out = server.kubectl_ok(&["get", "svc", "web"]);
    let header = out.lines().next().unwrap_or_default();
    assert!(header.contains("CLUSTER-IP"), "{out}");
    assert!(
        out.contains(spec["clusterIP"].as_str().unwrap_or("?")),
        "{out}"
    );

    let headless = create_ok(
        &server,
        "headless",
        json!({"clusterIP": "None", "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn requested_addresses_are_checked_and_released_on_delete() {
    let server = Server::start().await;
    create_ok(
        &server,
        "fixed",
        json!({"clusterIP": "10.0.0.77", "ports": [{"port": 80}]}),
    )
    .await;

    let (status, err) = create(
        &server,
        "twin",
        json!({"clusterIP": "10.0.0.77", "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        err["message"],
        "Service \"twin\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.0.0.77\"}: failed to allocate IP 10.0.0.77: provided IP is already allocated"
    );
    assert_eq!(err["details"]["causes"][0]["field"], "spec.clusterIPs");

    let (status, err) = create(
        &server,
        "far",
        json!({"clusterIP": "192.168.1.1", "ports": [{"port": 80}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(err["message"].as_str().unwrap_or_default().ends_with(
        "the provided IP (192.168.1.1) is not in the valid range. The range of valid IPs is 10.0.0.0/24"
    ), "{err}");

    // Node ports: allocated from the range, checked when requested.
    let np = create_ok(
        &server,
        "np",
        json!({"type": "NodePort", "ports": [{"port": 80}, {"port": 443, "nodePort": 30443}]}),
    )
    .await;
    let auto = np["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .expect("a node port");
    assert!((30000..=32767).contains(&auto), "{auto}");
    assert_eq!(np["spec"]["ports"][1]["nodePort"], 30443);
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");

    let (status, err) = create(
        &server,
        "np2",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30443}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        err["message"],
        "Service \"np2\" is invalid: spec.ports[0].nodePort: Invalid value: 30443: provided port is already allocated"
    );
    let (status, err) = create(
        &server,
        "np3",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 40000}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        err["message"],
        "Service \"np3\" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767"
    );
    // A refused create stored nothing.
    let (status, _) = server.get(&format!("{SVCS}/np2")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting releases: the same address and port can be taken again.
    server.kubectl_ok(&["delete", "svc", "fixed", "np"]);
    create_ok(&server, "again", json!({"clusterIP": "10.0.0.77", "type": "NodePort", "ports": [{"port": 80, "nodePort": 30443}]})).await;

    // An update keeps what it does not mention and may not move the address.
    let mut svc = server.get_ok(&format!("{SVCS}/again")).await;
    svc["spec"]["clusterIP"] = json!("10.0.0.78");
    svc["spec"]["clusterIPs"] = json!(["10.0.0.78"]);
    let (status, err) = server.put(&format!("{SVCS}/again"), &svc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_range_is_a_flag() {
    let server = Server::start_with(&[
        "--service-cluster-ip-range",
        "172.20.0.0/16",
        "--service-node-port-range",
        "31000-31001",
    ])
    .await;
    let kubernetes = eventually("default/kubernetes", Duration::from_secs(30), || async {
        let (status, svc) = server.get(&format!("{SVCS}/kubernetes")).await;
        (status == StatusCode::OK).then_some(svc)
    })
    .await;
    assert_eq!(kubernetes["spec"]["clusterIP"], "172.20.0.1");
    let svc = create_ok(
        &server,
        "a",
        json!({"type": "NodePort", "ports": [{"port": 1}, {"port": 2}]}),
    )
    .await;
    assert!(svc["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .starts_with("172.20."));
    let (status, err) = create(
        &server,
        "b",
        json!({"type": "NodePort", "ports": [{"port": 1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("range is full"),
        "{err}"
    );
}
