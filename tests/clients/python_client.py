"""The Python `kubernetes` client against keelson: create, every patch type the client
offers (JSON patch and strategic merge from the typed API, merge patch and server-side
apply from its dynamic client), a server-side apply conflict and its forced retry, and
deletes, with the status codes and reasons the client raises as ApiException.

Run by tests/python_client.rs with KUBECONFIG pointing at a test server; prints one
line per step and exits non-zero on the first failed check.
"""

import sys

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

NS = "py"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def expect_api_error(status, reason, call):
    try:
        call()
    except ApiException as e:
        body = e.body.decode() if isinstance(e.body, bytes) else (e.body or "")
        check(e.status == status and f'"reason":"{reason}"' in body.replace(" ", ""),
              f"ApiException {status} {reason} (got {e.status}: {body})")
        return body
    check(False, f"expected ApiException {status} {reason}, the call succeeded")


def main():
    config.load_kube_config()
    api = client.ApiClient()
    core = client.CoreV1Api(api)
    apps = client.AppsV1Api(api)
    dyn = dynamic.DynamicClient(api)

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    cm = core.create_namespaced_config_map(NS, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="app", labels={"team": "a"}),
        data={"color": "blue", "size": "large"}))
    check(cm.metadata.uid and cm.metadata.resource_version, "create returns server metadata")
    expect_api_error(409, "AlreadyExists", lambda: core.create_namespaced_config_map(
        NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="app"))))

    # A list body is sent as a JSON patch, a dict as a strategic merge patch.
    cm = core.patch_namespaced_config_map("app", NS, [
        {"op": "replace", "path": "/data/color", "value": "green"},
        {"op": "remove", "path": "/data/size"}])
    check(cm.data == {"color": "green"}, f"JSON patch applied: {cm.data}")
    expect_api_error(422, "Invalid", lambda: core.patch_namespaced_config_map(
        "app", NS, [{"op": "test", "path": "/data/color", "value": "red"}]))

    dep = apps.create_namespaced_deployment(NS, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [
                                  {"name": "web", "image": "nginx:1",
                                   "env": [{"name": "A", "value": "1"}]}]}}}})
    dep = apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}})
    env = [e.name for e in dep.spec.template.spec.containers[0].env]
    # Upstream puts items only the patch names first when it has no $setElementOrder.
    check(env == ["B", "A"], f"strategic merge patch merged env by name: {env}")

    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cm = cms.patch(name="app", namespace=NS, body={"data": {"shape": "round"}},
                   content_type="application/merge-patch+json")
    check(cm.data.shape == "round" and cm.data.color == "green", "merge patch applied")

    # The client sends watch=True (capitalised), which upstream parses as a boolean.
    seen = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, NS, timeout_seconds=2)]
    check(("ADDED", "app") in seen, f"a watch lists the configmap: {seen}")

    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "limits", "namespace": NS}, "data": {"max": "10"}}
    cm = cms.server_side_apply(body=manifest, namespace=NS, field_manager="py-ops")
    check(cm.data.max == "10", "server-side apply created the object")
    managers = [(m.manager, m.operation) for m in cm.metadata.managedFields]
    check(("py-ops", "Apply") in managers, f"managedFields name the applier: {managers}")
    theirs = dict(manifest, data={"max": "99"})
    body = expect_api_error(409, "Conflict", lambda: cms.server_side_apply(
        body=theirs, namespace=NS, field_manager="py-intruder"))
    check('conflict with \\"py-ops\\"' in body or 'conflict with "py-ops"' in body,
          f"the conflict names the owner: {body}")
    cm = cms.server_side_apply(body=theirs, namespace=NS, field_manager="py-intruder",
                               force_conflicts=True)
    check(cm.data.max == "99", "a forced apply takes the field over")

    core.delete_namespaced_config_map("app", NS)
    expect_api_error(404, "NotFound", lambda: core.read_namespaced_config_map("app", NS))
    apps.delete_namespaced_deployment("web", NS)
    core.delete_namespace(NS)
    print("python client: all checks passed")


if __name__ == "__main__":
    main()
