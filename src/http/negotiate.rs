//! Content negotiation: which representation a response takes (from `Accept`) and how a
//! request body is decoded (from `Content-Type`: JSON, YAML or Kubernetes protobuf).

use serde_json::Value;

use super::status::ApiError;

/// How a response is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
    /// `as=Table;g=meta.k8s.io;v=v1`
    Table,
    /// `as=PartialObjectMetadata;g=meta.k8s.io;v=v1`: one object's metadata (also each
    /// watch event's object).
    PartialObjectMetadata,
    /// `as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`: a list's metadata.
    PartialObjectMetadataList,
    /// `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2`
    AggregatedDiscovery,
}

fn params(range: &str) -> (String, Vec<(String, String)>) {
    let mut parts = range.split(';').map(str::trim);
    let media = parts.next().unwrap_or("").to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (media, params)
}

/// Picks the first acceptable media range of `accept` (absent: JSON).
pub fn response_format(accept: Option<&str>) -> Result<Format, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Format::Json);
    };
    for range in accept.split(',') {
        let (media, params) = params(range);
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        match (json_like, get("as"), get("g"), get("v")) {
            (true, Some("Table"), Some("meta.k8s.io"), Some("v1" | "v1beta1")) => {
                return Ok(Format::Table)
            }
            (true, Some("PartialObjectMetadata"), Some("meta.k8s.io"), Some("v1")) => {
                return Ok(Format::PartialObjectMetadata)
            }
            (true, Some("PartialObjectMetadataList"), Some("meta.k8s.io"), Some("v1")) => {
                return Ok(Format::PartialObjectMetadataList)
            }
            (true, Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
                return Ok(Format::AggregatedDiscovery)
            }
            (true, None, _, _) => return Ok(Format::Json),
            _ if media == "application/yaml" && get("as").is_none() => return Ok(Format::Yaml),
            _ => continue,
        }
    }
    Err(ApiError::NotAcceptable)
}

/// Decodes a request body as a JSON object, from JSON or YAML.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let media = content_type
        .map(|c| params(c).0)
        .unwrap_or_else(|| "application/json".into());
    let value: Value = match media.as_str() {
        "application/json" | "" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("json: cannot decode the request body: {e}"))
        })?,
        "application/yaml" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("yaml: the request body is not UTF-8"))?;
            serde_yaml_ng::from_str(text).map_err(|e| {
                ApiError::bad_request(format!("yaml: cannot decode the request body: {e}"))
            })?
        }
        "application/vnd.kubernetes.protobuf" => super::protobuf::decode(body).map_err(|e| {
            ApiError::bad_request(format!("protobuf: cannot decode the request body: {e}"))
        })?,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object (Object 'Kind' is missing)",
        ));
    }
    Ok(value)
}

/// Renders a JSON document as the chosen format's bytes and content type.
pub fn render(format: Format, json: Vec<u8>) -> (Vec<u8>, &'static str) {
    if format == Format::Yaml {
        if let Ok(value) = serde_json::from_slice::<Value>(&json) {
            if let Ok(yaml) = serde_yaml_ng::to_string(&value) {
                return (yaml.into_bytes(), "application/yaml");
            }
        }
    }
    (json, "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_from_real_clients() {
        let kubectl_get = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(response_format(Some(kubectl_get)).unwrap(), Format::Table);
        let discovery = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(
            response_format(Some(discovery)).unwrap(),
            Format::AggregatedDiscovery
        );
        assert_eq!(
            response_format(Some(
                "application/vnd.kubernetes.protobuf, application/json"
            ))
            .unwrap(),
            Format::Json
        );
        assert_eq!(
            response_format(Some("application/yaml")).unwrap(),
            Format::Yaml
        );
        assert_eq!(response_format(None).unwrap(), Format::Json);
        let metadata_list = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(
            response_format(Some(metadata_list)).unwrap(),
            Format::PartialObjectMetadataList
        );
        let metadata_watch = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(
            response_format(Some(metadata_watch)).unwrap(),
            Format::PartialObjectMetadata
        );
        assert!(response_format(Some("text/html")).is_err());
    }

    #[test]
    fn bodies() {
        assert!(decode_body(Some("application/json"), b"{\"a\":1}").is_ok());
        assert!(decode_body(Some("application/yaml"), b"a: 1\n").is_ok());
        assert!(decode_body(Some("application/json"), b"{nope").is_err());
        assert!(decode_body(Some("application/yaml"), b"a: [1\n").is_err());
        assert!(decode_body(Some("application/json"), b"[1]").is_err());
        assert!(matches!(
            decode_body(Some("application/vnd.kubernetes.protobuf"), b""),
            Err(ApiError::Registry(_))
        ));
        assert!(matches!(
            decode_body(Some("application/cbor"), b""),
            Err(ApiError::UnsupportedMediaType)
        ));
    }
}
