//! Property tests over everything that parses client input at the edge: paths, query
//! strings, Accept and Content-Type headers, bodies, selectors and continue tokens.
//! Whatever the input, parsing returns a value or an error and never panics.

use proptest::prelude::*;

use super::negotiate::{decode_body, response_format};
use super::query::Query;
use super::request_info::parse;
use crate::kinds::catalog;
use crate::registry::list::ContinueToken;
use crate::registry::selectors::{FieldSelector, LabelSelector};

fn any_method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("PATCH"),
        Just("DELETE"),
        Just("HEAD"),
        Just("OPTIONS"),
        Just("BREW")
    ]
    .prop_map(str::to_string)
}

fn path_like() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("api".to_string()),
        Just("apis".to_string()),
        Just("v1".to_string()),
        Just("namespaces".to_string()),
        Just("watch".to_string()),
        Just("status".to_string()),
        "[a-z0-9.%:-]{0,12}"
    ];
    proptest::collection::vec(segment, 0..9).prop_map(|s| format!("/{}", s.join("/")))
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("application/json".to_string()),
        Just("application/yaml".to_string()),
        Just("application/vnd.kubernetes.protobuf".to_string()),
        ".{0,40}"
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn request_info_never_panics(method in any_method(), path in path_like(), raw in ".{0,200}", watch in proptest::option::of(".{0,5}")) {
        let info = parse(&method, &path, watch.as_deref());
        prop_assert!(!info.is_resource_request || !info.resource.is_empty());
        let _ = parse(&method, &raw, watch.as_deref());
    }

    #[test]
    fn bodies_never_panic(ct in content_type(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(value) = decode_body(ct.as_deref(), &body) {
            prop_assert!(value.is_object());
        }
    }

    #[test]
    fn json_shaped_bodies_never_panic(text in r#"\{("[a-z]{0,4}":(\[|\{|"|[0-9]|null|true)[^\\]{0,20}[,}\]]?){0,6}"#) {
        let _ = decode_body(Some("application/json"), text.as_bytes());
        let _ = decode_body(Some("application/yaml"), text.as_bytes());
    }

    #[test]
    fn headers_and_queries_never_panic(accept in ".{0,120}", query in ".{0,200}") {
        let _ = response_format(Some(&accept));
        if let Ok(q) = Query::parse(&query) {
            for desc in catalog().into_iter().take(3) {
                let _ = q.list_options(desc, None);
                let _ = q.list_options(desc, Some("x"));
            }
        }
    }

    #[test]
    fn selectors_and_tokens_never_panic(s in ".{0,100}") {
        let _ = LabelSelector::parse(&s);
        let _ = FieldSelector::parse(&s, &["metadata.name", "metadata.namespace"]);
        let _ = ContinueToken::decode(&s);
    }
}
