//! Raw HTTPS to the test server with the admin identity, and a kube-rs client built from
//! the admin kubeconfig.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::credentials::assert_loopback_url;
use super::{read_json, Server};

impl Server {
    /// Sends a request with an optional JSON body; returns the status and the body parsed
    /// as JSON (or as a JSON string holding the raw text when it is not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http()
            .request(method.clone(), self.url(path))
            .timeout(Duration::from_secs(60));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.describe()));
        read_json(resp).await
    }

    /// Sends raw bytes with the given Content-Type.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let resp = self
            .http()
            .request(method.clone(), self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.describe()));
        read_json(resp).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None).await
    }

    /// GET that must answer 200; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "GET {path}: {body}\n{}",
            self.describe()
        );
        body
    }

    /// Creates a namespace and asserts 201.
    pub async fn create_namespace(&self, name: &str) {
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        });
        let (status, resp) = self.post("/api/v1/namespaces", &body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create namespace {name}: {resp}\n{}",
            self.describe()
        );
    }

    /// A kube-rs client built from the admin kubeconfig, as a user of the library would.
    pub async fn kube_client(&self) -> kube::Client {
        kube::Client::try_from(self.kube_config().await).expect("build kube client")
    }

    /// A kube-rs client with the admin identity that connects through `addr` (a loopback
    /// proxy in front of this server) instead of the server's own address.
    pub async fn kube_client_via(&self, addr: std::net::SocketAddr) -> kube::Client {
        assert!(addr.ip().is_loopback(), "{addr} is not a loopback address");
        let mut config = self.kube_config().await;
        config.cluster_url = format!("https://{addr}").parse().expect("proxy URL");
        kube::Client::try_from(config).expect("build kube client")
    }

    async fn kube_config(&self) -> kube::Config {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("read admin kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("kube config from the admin kubeconfig");
        assert_loopback_url(&config.cluster_url.to_string())
            .expect("kubeconfig server is loopback");
        config
    }
}
