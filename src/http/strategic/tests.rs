//! Strategic merge against a small hand-built definition set shaped like a Deployment,
//! with cases modelled on upstream's patch_test.go.

use serde_json::{json, Map, Value};

use super::order::go_stable_sort;
use super::{apply, decode, Schema, SmpError};

fn defs() -> Map<String, Value> {
    let merge_by = |key: &str, item: &str| {
        json!({"type": "array", "items": {"$ref": format!("#/definitions/{item}")},
               "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": key})
    };
    let v = json!({
        "Root": {"properties": {
            "metadata": {"$ref": "#/definitions/Meta"},
            "spec": {"$ref": "#/definitions/Spec"}}},
        "Meta": {"properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"},
                           "x-kubernetes-patch-strategy": "merge"}}},
        "Spec": {"properties": {
            "containers": merge_by("name", "Container"),
            "volumes": {"type": "array", "items": {"$ref": "#/definitions/Volume"},
                        "x-kubernetes-patch-strategy": "merge,retainKeys",
                        "x-kubernetes-patch-merge-key": "name"},
            "strategy": {"$ref": "#/definitions/Strategy",
                         "x-kubernetes-patch-strategy": "retainKeys"},
            "selector": {"$ref": "#/definitions/Selector",
                         "x-kubernetes-patch-strategy": "replace"},
            "args": {"type": "array", "items": {"type": "string"}},
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
                       "x-kubernetes-patch-strategy": "merge"}}},
        "Container": {"properties": {
            "name": {"type": "string"}, "image": {"type": "string"},
            "env": merge_by("name", "Env"),
            "ports": merge_by("containerPort", "Port")}},
        "Env": {"properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
        "Port": {"properties": {"containerPort": {"type": "integer"}}},
        "Volume": {"properties": {"name": {"type": "string"},
                                  "emptyDir": {"type": "object"}, "secret": {"type": "object"}}},
        "Strategy": {"properties": {"type": {"type": "string"},
                                    "rollingUpdate": {"type": "object"}}},
        "Selector": {"properties": {"matchLabels": {"type": "object",
                                    "additionalProperties": {"type": "string"}}}}
    });
    v.as_object().cloned().unwrap_or_default()
}

fn run(current: Value, patch: Value) -> Result<Value, SmpError> {
    let defs = defs();
    let root = defs["Root"].clone();
    let patch = patch.as_object().cloned().unwrap_or_default();
    apply(&current, patch, Schema::new(&defs, &root))
}

fn ok(current: Value, patch: Value) -> Value {
    match run(current, patch) {
        Ok(v) => v,
        Err(e) => panic!("patch failed: {e}"),
    }
}

fn other(current: Value, patch: Value) -> String {
    match run(current, patch) {
        Err(SmpError::Other(m)) => m,
        r => panic!("expected a plain error, got {r:?}"),
    }
}

fn two_containers() -> Value {
    json!({"spec": {"containers": [{"name": "a", "image": "nginx:1"},
                                   {"name": "b", "image": "nginx:1"}]}})
}

#[test]
fn containers_merge_by_name() {
    let got = ok(
        two_containers(),
        json!({"spec": {"containers": [{"name": "b", "image": "nginx:2"}]}}),
    );
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "nginx:2"}])
    );
    let added = ok(
        two_containers(),
        json!({"spec": {"containers": [{"name": "c", "image": "x"}]}}),
    );
    let names: Vec<&str> = added["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    // Upstream puts items only the patch has before server-only items it cannot place.
    assert_eq!(names, ["c", "a", "b"]);
}

#[test]
fn patch_delete_and_replace_directives() {
    let got = ok(
        two_containers(),
        json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
    );
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "b", "image": "nginx:1"}])
    );
    let got = ok(
        two_containers(),
        json!({"spec": {"containers": [{"name": "z", "image": "q"}, {"$patch": "replace"}]}}),
    );
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "z", "image": "q"}])
    );
    let got = ok(
        json!({"metadata": {"labels": {"a": "1"}}}),
        json!({"metadata": {"labels": {"$patch": "replace", "b": "2"}}}),
    );
    assert_eq!(got["metadata"]["labels"], json!({"b": "2"}));
    let got = ok(
        json!({"metadata": {"labels": {"a": "1"}}}),
        json!({"metadata": {"labels": {"$patch": "delete"}}}),
    );
    assert_eq!(got["metadata"]["labels"], json!({}));
}

#[test]
fn maps_merge_and_null_deletes() {
    let got = ok(
        json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "x": 1}),
        json!({"metadata": {"labels": {"a": null, "c": "3"}}, "x": null, "y": {"n": null, "k": 1}}),
    );
    assert_eq!(
        got,
        json!({"metadata": {"labels": {"b": "2", "c": "3"}}, "y": {"k": 1}})
    );
}

#[test]
fn primitive_merge_list_is_an_ordered_set() {
    let got = ok(
        json!({"metadata": {"finalizers": ["a", "b"]}}),
        json!({"metadata": {"finalizers": ["c", "a"]}}),
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let got = ok(
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}}),
    );
    assert_eq!(got["metadata"]["finalizers"], json!(["a", "c"]));
    // A delete list for an absent field adds nothing.
    let got = ok(
        json!({"metadata": {}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
    );
    assert_eq!(got["metadata"], json!({}));
}

#[test]
fn lists_without_merge_strategy_are_replaced() {
    let got = ok(
        json!({"spec": {"args": ["1", "2"]}, "free": {"a": 1, "l": [1, 2]}}),
        json!({"spec": {"args": ["3"]}, "free": {"b": 2, "l": [3]}}),
    );
    assert_eq!(
        got,
        json!({"spec": {"args": ["3"]}, "free": {"a": 1, "b": 2, "l": [3]}})
    );
    // Strategy `replace` on a map field replaces it whole.
    let got = ok(
        json!({"spec": {"selector": {"matchLabels": {"a": "1"}}}}),
        json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}}),
    );
    assert_eq!(got["spec"]["selector"], json!({"matchLabels": {"b": "2"}}));
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let current = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}});
    let got = ok(
        current.clone(),
        json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}),
    );
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "c"}, {"name": "a"}, {"name": "b"}])
    );
    let got = ok(
        current,
        json!({"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "d"}],
        "containers": [{"name": "d", "image": "x"}]}}),
    );
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "a"}, {"name": "b"}, {"name": "d", "image": "x"}, {"name": "c"}])
    );
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    let current =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let got = ok(
        current.clone(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
    let err = run(
        current,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
    );
    assert_eq!(
        err,
        Err(SmpError::BadRequest("invalid patch format of retainKeys"))
    );
    // merge,retainKeys on a list: elements merge, and each element's retainKeys applies.
    let got = ok(
        json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}),
        json!({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "s"},
                                              "$retainKeys": ["name", "secret"]}]}}),
    );
    assert_eq!(
        got["spec"]["volumes"],
        json!([{"name": "v", "secret": {"secretName": "s"}}])
    );
}

#[test]
fn three_way_patch_from_kubectl_apply_removes_what_was_dropped() {
    let current = json!({"spec": {"containers": [
        {"name": "a", "image": "nginx:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
        {"name": "b", "image": "nginx:1"}]}});
    // What `kubectl apply` computes when container b and env Y are removed from the file.
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "a", "$setElementOrder/env": [{"name": "X"}],
                        "env": [{"name": "Y", "$patch": "delete"}]},
                       {"name": "b", "$patch": "delete"}]}});
    let got = ok(current, patch);
    assert_eq!(
        got["spec"]["containers"],
        json!([{"name": "a", "image": "nginx:1", "env": [{"name": "X", "value": "1"}]}])
    );
}

#[test]
fn new_content_is_stored_without_nulls_or_directives() {
    let got = ok(
        json!({}),
        json!({"spec": {"x": null, "containers": [{"name": "a", "junk": {"$patch": "delete"}}]}}),
    );
    assert_eq!(got, json!({"spec": {"containers": [{"name": "a"}]}}));
}

#[test]
fn errors_carry_upstreams_messages() {
    assert_eq!(
        other(
            two_containers(),
            json!({"spec": {"containers": [{"image": "nginx:3"}]}})
        ),
        "map: map[image:nginx:3] does not contain declared merge key: name"
    );
    assert_eq!(
        other(
            two_containers(),
            json!({"spec": {"containers": [{"name": "a", "$patch": "foo"}]}})
        ),
        "unknown patch type: foo in map: map[$patch:foo name:a]"
    );
    assert_eq!(
        other(
            two_containers(),
            json!({"spec": {"containers": [{"$patch": "merge"}]}})
        ),
        "merging lists cannot yet be specified in the patch"
    );
    assert_eq!(
        other(
            json!({"metadata": {"labels": {}}}),
            json!({"metadata": {"labels": {"$patch": 3}}})
        ),
        "unknown patch type: %!s(int64=3) in map: map[$patch:3]"
    );
    assert_eq!(other(two_containers(), json!({"spec": {"containers": [{"name": "a"}, "b"]}})),
               "list element types are not identical: [[map[image:nginx:1 name:a] map[image:nginx:1 name:b]] [map[name:a] b]]");
    assert!(other(two_containers(), json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b", "image": "1"}, {"name": "a", "image": "2"}]}}))
        .starts_with("The order in patch list:\n[map[image:1 name:b] map[image:2 name:a]]\n doesn't match $setElementOrder list:"));
    assert_eq!(
        run(
            json!({"spec": {}}),
            json!({"spec": {"$setElementOrderX": []}})
        ),
        Err(SmpError::BadRequest(
            "invalid patch format of setElementOrder list"
        ))
    );
    assert_eq!(
        run(json!({}), json!({"$deleteFromPrimitiveListfoo": []})),
        Err(SmpError::BadRequest(
            "invalid patch format of primitive list"
        ))
    );
    assert_eq!(
        run(
            json!({"spec": {"matrix": [["a"]]}}),
            json!({"spec": {"matrix": [["b"]]}})
        ),
        Err(SmpError::Invalid("lists of lists are not supported"))
    );
}

#[test]
fn decode_answers_like_go() {
    let msg = |b: &str| decode(b.as_bytes()).err().unwrap_or_default();
    assert_eq!(msg(""), "unexpected end of JSON input");
    assert_eq!(msg("{\"a\": 1"), "unexpected end of JSON input");
    assert_eq!(
        msg("not json"),
        "invalid character 'o' in literal null (expecting 'u')"
    );
    assert_eq!(
        msg("<x>"),
        "invalid character '<' looking for beginning of value"
    );
    assert_eq!(
        msg("{a:1}"),
        "invalid character 'a' looking for beginning of object key string"
    );
    assert_eq!(msg("{\"a\" 1}"), "invalid character '1' after object key");
    assert_eq!(
        msg("{\"a\":1 \"b\"}"),
        "invalid character '\"' after object key:value pair"
    );
    assert_eq!(msg("[1 2]"), "invalid character '2' after array element");
    assert_eq!(msg("{} x"), "invalid character 'x' after top-level value");
    assert_eq!(
        msg("[1]"),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    assert_eq!(
        msg("{\"a\": -}"),
        "invalid character '}' in numeric literal"
    );
    assert_eq!(decode(b"null").map(|m| m.len()), Ok(0));
    assert_eq!(
        decode(b" {\"a\": [1, {\"b\": \"\\u00e9\"}]} ").map(|m| m.len()),
        Ok(1)
    );
}

#[test]
fn go_stable_sort_is_a_stable_sort_for_strict_orders() {
    let mut items: Vec<(u32, usize)> = (0..200).map(|i| ((i * 7919 % 13) as u32, i)).collect();
    let mut expected = items.clone();
    expected.sort_by_key(|p| p.0);
    go_stable_sort(&mut items, |a, b| a.0 < b.0);
    assert_eq!(items, expected);
}

mod fuzz {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("name".to_string()),
            Just("spec".to_string()),
            Just("containers".to_string()),
            Just("$patch".to_string()),
            Just("$retainKeys".to_string()),
            Just("$setElementOrder/containers".to_string()),
            Just("$deleteFromPrimitiveList/finalizers".to_string()),
            Just("metadata".to_string()),
            Just("finalizers".to_string()),
            Just("labels".to_string()),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            Just(json!(1.5)),
            Just(json!("delete")),
            Just(json!("replace")),
            Just(json!("a")),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
        #[test]
        fn never_panics(current in value(), patch in value()) {
            let patch = json!({"spec": patch.clone(), "metadata": patch});
            let _ = super::run(json!({"spec": current.clone(), "metadata": current}), patch);
        }
    }
}
