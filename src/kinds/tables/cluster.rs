//! Columns of the remaining groups: coordination (leases), RBAC bindings, networking
//! (ingresses, ingress classes, network policies), policy (disruption budgets),
//! scheduling (priority classes), discovery (endpoint slices) and admission webhooks.
//! Roles, cluster roles and limit ranges have no printer upstream: they use
//! [`super::NAME_CREATED_AT`].

use serde_json::Value;

use super::format::{format_selector, int, int_or_string, list, list_with_more, opt_text, text};
use super::{AGE, NAME};
use crate::registry::strategy::Column;

pub const LEASE: &[Column] = &[
    NAME,
    Column::new("Holder", "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.", |o, _| text(o, "/spec/holderIdentity").into()),
    AGE,
];

// === RBAC bindings ===

/// Subjects of one kind, joined with ", "; service accounts as `namespace/name`.
fn subjects(binding: &Value, kind: &str) -> Value {
    let names: Vec<String> = list(binding, "/subjects")
        .iter()
        .filter(|s| text(s, "/kind") == kind)
        .map(|s| match kind {
            "ServiceAccount" => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
            _ => text(s, "/name").to_string(),
        })
        .collect();
    names.join(", ").into()
}

fn role_ref(binding: &Value) -> Value {
    format!(
        "{}/{}",
        text(binding, "/roleRef/kind"),
        text(binding, "/roleRef/name")
    )
    .into()
}

/// The columns of a binding kind (`$what` names it in the descriptions).
macro_rules! binding_columns {
    ($role_description:expr, $what:literal) => {
        &[
            NAME,
            Column::new("Role", $role_description, |o, _| role_ref(o)),
            AGE,
            Column::new("Users", concat!("Users in the ", $what), |o, _| {
                subjects(o, "User")
            })
            .wide(),
            Column::new("Groups", concat!("Groups in the ", $what), |o, _| {
                subjects(o, "Group")
            })
            .wide(),
            Column::new(
                "ServiceAccounts",
                concat!("ServiceAccounts in the ", $what),
                |o, _| subjects(o, "ServiceAccount"),
            )
            .wide(),
        ]
    };
}

pub const ROLE_BINDING: &[Column] = binding_columns!("RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.", "roleBinding");
pub const CLUSTER_ROLE_BINDING: &[Column] = binding_columns!("RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.", "clusterRoleBinding");

// === networking ===

/// HOSTS: the first three hosts rules name, `*` when none names one.
fn ingress_hosts(ing: &Value) -> Value {
    const MAX: usize = 3;
    let rules = list(ing, "/spec/rules");
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        more |= hosts.len() == MAX;
        let host = text(rule, "/host");
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return "*".into();
    }
    if more {
        return format!("{} + {} more...", hosts.join(","), rules.len() - MAX).into();
    }
    hosts.join(",").into()
}

fn ingress_ports(ing: &Value) -> Value {
    if list(ing, "/spec/tls").is_empty() {
        "80".into()
    } else {
        "80, 443".into()
    }
}

pub const INGRESS: &[Column] = &[
    NAME,
    Column::new(
        "Class",
        "The name of the IngressClass resource that should be used for additional configuration",
        |o, _| {
            opt_text(o, "/spec/ingressClassName")
                .unwrap_or("<none>")
                .into()
        },
    ),
    Column::new(
        "Hosts",
        "Hosts that incoming requests are matched against before the ingress rule",
        |o, _| ingress_hosts(o),
    ),
    Column::new(
        "Address",
        "Address is a list containing ingress points for the load-balancer",
        |o, _| super::core::load_balancer_ingress(o).into(),
    ),
    Column::new("Ports", "Ports of TLS configurations that open", |o, _| {
        ingress_ports(o)
    }),
    AGE,
];

/// PARAMETERS: `Kind[.apiGroup]/name`, or `<none>`.
fn ingress_class_parameters(ic: &Value) -> Value {
    let Some(p) = ic.pointer("/spec/parameters").filter(|p| p.is_object()) else {
        return "<none>".into();
    };
    let mut written = text(p, "/kind").to_string();
    if let Some(group) = opt_text(p, "/apiGroup") {
        written = format!("{written}.{group}");
    }
    format!("{written}/{}", text(p, "/name")).into()
}

pub const INGRESS_CLASS: &[Column] = &[
    NAME,
    Column::new(
        "Controller",
        "Controller that is responsible for handling this class",
        |o, _| text(o, "/spec/controller").into(),
    ),
    Column::new(
        "Parameters",
        "A reference to a resource with additional parameters",
        |o, _| ingress_class_parameters(o),
    ),
    AGE,
];

pub const NETWORK_POLICY: &[Column] = &[
    NAME,
    Column::new("Pod-Selector", "podSelector selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.", |o, _| format_selector(o.pointer("/spec/podSelector")).into()),
    AGE,
];

// === policy, scheduling, discovery, admission ===

fn int_or_string_or_na(obj: &Value, pointer: &str) -> Value {
    match obj.pointer(pointer).filter(|v| !v.is_null()) {
        Some(v) => int_or_string(v).into(),
        None => "N/A".into(),
    }
}

pub const POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    Column::new(
        "Min Available",
        "The minimum number of pods that must be available.",
        |o, _| int_or_string_or_na(o, "/spec/minAvailable"),
    ),
    Column::new(
        "Max Unavailable",
        "The maximum number of pods that may be unavailable.",
        |o, _| int_or_string_or_na(o, "/spec/maxUnavailable"),
    ),
    Column::new(
        "Allowed Disruptions",
        "Calculated number of pods that may be disrupted at this time.",
        |o, _| int(o, "/status/disruptionsAllowed").into(),
    )
    .typed("integer"),
    AGE,
];

pub const PRIORITY_CLASS: &[Column] = &[
    NAME,
    Column::new("Value", "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.", |o, _| int(o, "/value").into()).typed("integer"),
    Column::new("Global-Default", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.", |o, _| o.get("globalDefault").and_then(Value::as_bool).unwrap_or(false).into()).typed("boolean"),
    AGE,
    // Upstream shows this column without -o wide, and defaults the policy.
    Column::new("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.", |o, _| opt_text(o, "/preemptionPolicy").unwrap_or("PreemptLowerPriority").into()),
];

fn slice_ports(slice: &Value) -> Value {
    let ports: Vec<String> = list(slice, "/ports")
        .iter()
        .map(
            |p| match (p.get("port").and_then(Value::as_i64), opt_text(p, "/name")) {
                (Some(port), _) => port.to_string(),
                (None, Some(name)) => name.to_string(),
                (None, None) => "*".into(),
            },
        )
        .collect();
    list_with_more(&ports).into()
}

fn slice_endpoints(slice: &Value) -> Value {
    let addresses: Vec<String> = list(slice, "/endpoints")
        .iter()
        .flat_map(|e| list(e, "/addresses"))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    list_with_more(&addresses).into()
}

pub const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    Column::new("AddressType", "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.", |o, _| text(o, "/addressType").into()),
    Column::new("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.", |o, _| slice_ports(o)),
    Column::new("Endpoints", "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.", |o, _| slice_endpoints(o)),
    AGE,
];

pub const WEBHOOK_CONFIGURATION: &[Column] = &[
    NAME,
    Column::new(
        "Webhooks",
        "Webhooks indicates the number of webhooks registered in this configuration",
        |o, _| list(o, "/webhooks").len().into(),
    )
    .typed("integer"),
    AGE,
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cell, header};
    use super::*;

    #[test]
    fn binding_cells() {
        let b = json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [
            {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "devs"}, {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"}]});
        assert_eq!(cell(ROLE_BINDING, &b, "Role"), json!("ClusterRole/view"));
        assert_eq!(cell(ROLE_BINDING, &b, "Users"), json!("alice, bob"));
        assert_eq!(cell(ROLE_BINDING, &b, "ServiceAccounts"), json!("ci/bot"));
        assert_eq!(
            header(CLUSTER_ROLE_BINDING),
            [
                "Name",
                "Role",
                "Age",
                "Users*",
                "Groups*",
                "ServiceAccounts*"
            ]
        );
    }

    #[test]
    fn networking_cells() {
        let ing = json!({"spec": {"rules": [{"host": "a.example"}, {}, {"host": "c.example"}, {"host": "d.example"}, {"host": "e.example"}], "tls": [{}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}}});
        assert_eq!(
            cell(INGRESS, &ing, "Hosts"),
            json!("a.example,c.example,d.example + 2 more...")
        );
        assert_eq!(cell(INGRESS, &ing, "Ports"), json!("80, 443"));
        assert_eq!(cell(INGRESS, &ing, "Address"), json!("9.9.9.9"));
        assert_eq!(cell(INGRESS, &ing, "Class"), json!("<none>"));
        assert_eq!(cell(INGRESS, &json!({}), "Hosts"), json!("*"));
        let ic = json!({"spec": {"controller": "x/y", "parameters": {"kind": "Cfg", "apiGroup": "k.io", "name": "p"}}});
        assert_eq!(cell(INGRESS_CLASS, &ic, "Parameters"), json!("Cfg.k.io/p"));
        assert_eq!(
            cell(
                NETWORK_POLICY,
                &json!({"spec": {"podSelector": {}}}),
                "Pod-Selector"
            ),
            json!("<none>")
        );
    }

    #[test]
    fn other_cells() {
        let pdb = json!({"spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            cell(POD_DISRUPTION_BUDGET, &pdb, "Min Available"),
            json!("50%")
        );
        assert_eq!(
            cell(POD_DISRUPTION_BUDGET, &pdb, "Max Unavailable"),
            json!("N/A")
        );
        let slice = json!({"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1", "10.0.0.2"]}, {"addresses": ["10.0.0.3", "10.0.0.4"]}]});
        assert_eq!(cell(ENDPOINT_SLICE, &slice, "Ports"), json!("80,dns,*"));
        assert_eq!(
            cell(ENDPOINT_SLICE, &slice, "Endpoints"),
            json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...")
        );
        assert_eq!(
            cell(ENDPOINT_SLICE, &json!({}), "Endpoints"),
            json!("<unset>")
        );
        assert_eq!(
            cell(
                WEBHOOK_CONFIGURATION,
                &json!({"webhooks": [{}, {}]}),
                "Webhooks"
            ),
            json!(2)
        );
    }
}
