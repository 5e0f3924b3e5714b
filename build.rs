//! Generates the protobuf schema keelson decodes `application/vnd.kubernetes.protobuf`
//! bodies with (`$OUT_DIR/proto_schema.rs`, included by `src/http/protobuf/schema.rs`).
//!
//! Nothing derived is committed: the table is rebuilt from the sources of two crates cargo
//! already downloads and never compiles here. k8s-pb (a `cfg(any())` dependency) gives the
//! prost-generated messages: tags, wire types and message references. k8s-openapi (a
//! dev-dependency) gives the exact JSON field names, which prost's snake_case loses
//! (`podIP`, `$ref`, `x-kubernetes-list-type`), and the Go spelling of type names. The
//! steps, in order: find both crates through `cargo metadata`, parse k8s-pb's messages,
//! parse k8s-openapi's serde field names, map API groups to packages, emit static tables.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// k8s-pb's top-level modules that hold API types (metrics are read-only, not decoded).
const PB_ROOTS: &[&str] = &[
    "api",
    "apimachinery",
    "apiextensions_apiserver",
    "kube_aggregator",
];
const META_V1: &str = "apimachinery::pkg::apis::meta::v1";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");
    if let Err(message) = run() {
        panic!(
            "keelson's build could not generate its protobuf schema: {message}\n\
             It reads the sources of the crates k8s-pb (a `cfg(any())` dependency) and \
             k8s-openapi (a dev-dependency) listed in Cargo.toml: run `cargo fetch` (network \
             needed once) and check both entries are still there."
        );
    }
}

fn run() -> Result<(), String> {
    let (pb_src, openapi_src) = locate_sources()?;
    let mut messages = Vec::new();
    let mut api_versions = BTreeMap::new();
    for root in PB_ROOTS {
        parse_pb_dir(
            &pb_src.join(root),
            &[root.to_string()],
            &mut messages,
            &mut api_versions,
        )?;
    }
    let names = JsonNames::parse(&openapi_src)?;
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?);
    let code = emit(&messages, &api_versions, &names)?;
    std::fs::write(out.join("proto_schema.rs"), code)
        .map_err(|e| format!("writing proto_schema.rs: {e}"))
}

// === locating the sources ===

/// The `src` directories of k8s-pb and of k8s-openapi's newest Kubernetes version.
fn locate_sources() -> Result<(PathBuf, PathBuf), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(&std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?)
        .join("Cargo.toml");
    let metadata = |offline: bool| -> Result<Vec<u8>, String> {
        let mut cmd = Command::new(&cargo);
        cmd.args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(&manifest);
        if offline {
            cmd.arg("--offline");
        }
        let out = cmd
            .output()
            .map_err(|e| format!("running `cargo metadata`: {e}"))?;
        match out.status.success() {
            true => Ok(out.stdout),
            false => Err(format!(
                "`cargo metadata` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    };
    let bytes = metadata(true).or_else(|_| metadata(false))?;
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("`cargo metadata` output: {e}"))?;
    let dir_of = |name: &str| -> Result<PathBuf, String> {
        let packages = json["packages"]
            .as_array()
            .ok_or("`cargo metadata` listed no packages")?;
        let package = packages
            .iter()
            .find(|p| p["name"] == name)
            .ok_or(format!("`cargo metadata` does not list {name}"))?;
        let manifest = package["manifest_path"]
            .as_str()
            .ok_or(format!("{name} has no manifest path"))?;
        let src = Path::new(manifest).with_file_name("src");
        match src.is_dir() {
            true => Ok(src),
            false => Err(format!("{} is missing", src.display())),
        }
    };
    let pb = dir_of("k8s-pb")?;
    let openapi = dir_of("k8s-openapi")?;
    let newest = std::fs::read_dir(&openapi)
        .map_err(|e| format!("{}: {e}", openapi.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| Some((n.strip_prefix("v1_")?.parse::<u32>().ok()?, n)))
        .max()
        .ok_or(format!("no v1_NN folder in {}", openapi.display()))?;
    Ok((pb, openapi.join(newest.1)))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

// === k8s-pb: messages ===

/// How a field is laid out on the wire, from its `#[prost(...)]` attribute.
enum Layout {
    Optional,
    Repeated,
    /// A map with this key scalar; the field's type is the value's.
    Map(String),
}

struct PbField {
    tag: u32,
    /// prost's snake_case name, without `r#`.
    rust: String,
    /// The first word of the field's doc comment (upstream's Go comment), which usually
    /// names the field in Go or JSON spelling.
    doc_word: Option<String>,
    /// A scalar name (`string`, `int32`, ...) or a message's full module path.
    ty: String,
    layout: Layout,
}

struct PbMessage {
    module: String,
    name: String,
    /// Carries upstream's `+protobuf.nullable=true` (a Go slice wrapped in a message).
    nullable: bool,
    fields: Vec<PbField>,
}

impl PbMessage {
    fn path(&self) -> String {
        format!("{}::{}", self.module, self.name)
    }
}

fn parse_pb_dir(
    dir: &Path,
    module: &[String],
    messages: &mut Vec<PbMessage>,
    versions: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let text = read(&dir.join("mod.rs"))?;
    parse_pb_module(&module.join("::"), &text, messages, versions)?;
    for sub in subdirs(dir)? {
        let name = sub
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("non-UTF-8 folder name")?
            .to_string();
        let child: Vec<String> = module.iter().cloned().chain([name]).collect();
        parse_pb_dir(&sub, &child, messages, versions)?;
    }
    Ok(())
}

fn parse_pb_module(
    module: &str,
    text: &str,
    messages: &mut Vec<PbMessage>,
    versions: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut docs_nullable = false;
    let mut doc_word: Option<String> = None;
    let mut current: Option<PbMessage> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if let (Some(doc), None) = (line.strip_prefix("///"), &doc_word) {
            let word = doc
                .split_whitespace()
                .next()
                .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()));
            doc_word = word.filter(|w| !w.is_empty()).map(str::to_string);
        }
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.trim_end_matches(['{', '}', ' ']).to_string();
            let message = PbMessage {
                module: module.into(),
                name,
                nullable: docs_nullable,
                fields: Vec::new(),
            };
            match rest.ends_with("{}") {
                true => messages.push(message),
                false => current = Some(message),
            }
        } else if line == "}" {
            messages.extend(current.take());
        } else if let (Some(attr), Some(message)) =
            (line.strip_prefix("#[prost("), current.as_mut())
        {
            let (decl, next) = field_declaration(&lines, i);
            i = next;
            let at = || format!("{module}::{}", message.name);
            let mut field = parse_field(attr.trim_end_matches(")]"), &decl, module)
                .map_err(|e| format!("{}: {e}", at()))?;
            field.doc_word = doc_word.take();
            message.fields.push(field);
        } else if let Some(api_version) = line.strip_prefix("const API_VERSION: &'static str = \"")
        {
            versions.insert(
                module.to_string(),
                api_version.trim_end_matches("\";").to_string(),
            );
        }
        if !line.starts_with("///") && !line.starts_with("#[") {
            doc_word = None;
        }
        docs_nullable = match line.starts_with("///") || line.starts_with("#[derive") {
            true => docs_nullable || line.contains("+protobuf.nullable=true"),
            false => false,
        };
    }
    Ok(())
}

/// Joins the lines of `pub name: Type,` that follow an attribute (rustfmt may wrap it).
fn field_declaration(lines: &[&str], mut i: usize) -> (String, usize) {
    let mut decl = String::new();
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if decl.is_empty() && !line.starts_with("pub ") {
            continue;
        }
        decl.push_str(line);
        let depth: i32 = decl
            .chars()
            .map(|c| i32::from(c == '<') - i32::from(c == '>'))
            .sum();
        if depth == 0 && decl.ends_with(',') {
            break;
        }
    }
    (decl, i)
}

/// Parses `string, optional, tag = "1"` with `pub name: Type,`.
fn parse_field(attr: &str, decl: &str, module: &str) -> Result<PbField, String> {
    let tag = attr
        .rsplit_once("tag = \"")
        .and_then(|(_, t)| t.trim_end_matches('"').parse().ok())
        .ok_or(format!("no tag in `{attr}`"))?;
    let (name, ty) = decl
        .strip_prefix("pub ")
        .and_then(|d| d.split_once(':'))
        .ok_or(format!("unexpected field `{decl}`"))?;
    let rust = name.trim().trim_start_matches("r#").to_string();
    let ty = ty
        .trim()
        .trim_end_matches(',')
        .replace(' ', "")
        .replace(",>", ">");
    let kind = attr.split(',').next().unwrap_or_default().trim();
    let repeated = attr.contains("repeated");
    let layout = if repeated {
        Layout::Repeated
    } else {
        Layout::Optional
    };
    let field = |ty: String, layout| {
        Ok(PbField {
            tag,
            rust: rust.clone(),
            doc_word: None,
            ty,
            layout,
        })
    };
    if let Some(map) = attr.strip_prefix("btree_map = \"") {
        let (key, value) = map
            .split_once('"')
            .map(|(kv, _)| kv)
            .and_then(|kv| kv.split_once(", "))
            .ok_or(format!("bad map `{attr}`"))?;
        check_scalar(key)?;
        let value = match value {
            "message" => message_path(map_value(&ty)?, module),
            scalar => check_scalar(scalar)?,
        };
        return field(value, Layout::Map(key.to_string()));
    }
    match kind {
        "message" => field(message_path(&unwrap_containers(&ty), module), layout),
        kind => field(
            check_scalar(kind.split_once(" =").map_or(kind, |(k, _)| k))?,
            layout,
        ),
    }
}

fn check_scalar(name: &str) -> Result<String, String> {
    match name {
        "string" | "bytes" | "bool" | "int32" | "int64" | "double" => Ok(name.to_string()),
        other => Err(format!(
            "unsupported protobuf scalar `{other}`: teach build.rs and src/http/protobuf about it"
        )),
    }
}

fn unwrap_containers(ty: &str) -> String {
    let mut ty = ty;
    for wrapper in [
        "::core::option::Option<",
        "::prost::alloc::vec::Vec<",
        "::prost::alloc::boxed::Box<",
    ] {
        if let Some(inner) = ty.strip_prefix(wrapper).and_then(|t| t.strip_suffix('>')) {
            ty = inner;
        }
    }
    ty.to_string()
}

/// The value type of `BTreeMap<K, V>`.
fn map_value(ty: &str) -> Result<&str, String> {
    let inner = ty
        .strip_prefix("::prost::alloc::collections::BTreeMap<")
        .and_then(|t| t.strip_suffix('>'))
        .ok_or(format!("not a map: {ty}"))?;
    inner
        .split_once(',')
        .map(|(_, v)| v)
        .ok_or(format!("not a map: {ty}"))
}

/// Resolves a Rust path relative to `module` (`super::v1::ListMeta`) to a full path.
fn message_path(ty: &str, module: &str) -> String {
    let mut path: Vec<&str> = module.split("::").collect();
    for segment in ty.split("::") {
        match segment {
            "super" => {
                path.pop();
            }
            "crate" => path.clear(),
            "self" | "" => {}
            other => path.push(other),
        }
    }
    path.join("::")
}

// === k8s-openapi: JSON names ===

fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// JSON field names per type (`module::lowercase name`), and across all types.
struct JsonNames {
    types: HashMap<String, (String, HashMap<String, String>)>,
    /// `None` where two types spell the same normalized name differently.
    global: HashMap<String, Option<String>>,
}

impl JsonNames {
    fn parse(root: &Path) -> Result<Self, String> {
        let mut names = JsonNames {
            types: HashMap::new(),
            global: HashMap::new(),
        };
        names.walk(root, &[])?;
        Ok(names)
    }

    fn walk(&mut self, dir: &Path, module: &[String]) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for path in entries.filter_map(|e| Some(e.ok()?.path())) {
            let name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                let child: Vec<String> = module.iter().cloned().chain([name]).collect();
                self.walk(&path, &child)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                self.file(&module.join("::"), &read(&path)?);
            }
        }
        Ok(())
    }

    fn file(&mut self, module: &str, text: &str) {
        let mut current: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("impl<'de> crate::serde::Deserialize<'de> for ") {
                let name = rest.trim_end_matches(" {");
                if name != "Field" {
                    current = Some(format!("{module}::{}", name.to_ascii_lowercase()));
                    self.types
                        .entry(current.clone().unwrap_or_default())
                        .or_insert_with(|| (name.to_string(), HashMap::new()));
                }
            } else if let (Some((json, _)), Some(key)) = (
                line.strip_prefix('"')
                    .and_then(|l| l.split_once("\" => Field::Key_")),
                &current,
            ) {
                let normalized = normalize(json);
                if let Some((_, fields)) = self.types.get_mut(key) {
                    fields.insert(normalized.clone(), json.to_string());
                }
                let global = self
                    .global
                    .entry(normalized)
                    .or_insert_with(|| Some(json.to_string()));
                if global.as_deref() != Some(json) {
                    *global = None;
                }
            }
        }
    }

    /// The Go spelling of a type name, when k8s-openapi has the type.
    fn type_name<'a>(&'a self, message: &'a PbMessage) -> &'a str {
        let key = format!("{}::{}", message.module, message.name.to_ascii_lowercase());
        self.types.get(&key).map_or(&message.name, |(name, _)| name)
    }

    /// The normalized JSON names of the type, when k8s-openapi has it.
    fn fields_of(&self, message: &PbMessage) -> Option<&HashMap<String, String>> {
        self.types
            .get(&format!(
                "{}::{}",
                message.module,
                message.name.to_ascii_lowercase()
            ))
            .map(|(_, fields)| fields)
    }

    /// The field's JSON name: from k8s-openapi's type (or the type `host` that inlines
    /// it), else from the doc comment's first
    /// word when it names the field, else as any k8s-openapi type spells it, else
    /// lowerCamelCase.
    fn json_name(&self, message: &PbMessage, host: Option<&PbMessage>, field: &PbField) -> String {
        let normalized = normalize(&field.rust);
        let own = (self.fields_of(message).or_else(|| self.fields_of(host?)))
            .and_then(|f| f.get(&normalized))
            .cloned();
        let doc = field
            .doc_word
            .as_deref()
            .filter(|w| normalize(w) == normalized)
            .map(json_from_go);
        let global = || self.global.get(&normalized).cloned().flatten();
        own.or(doc)
            .or_else(global)
            .unwrap_or_else(|| lower_camel(&field.rust))
    }
}

/// `ShareID` → `shareID`, `IPFamilies` → `ipFamilies`, `CIDRs` → `cidrs`: Go's JSON names
/// lower the leading capital, or the leading acronym.
fn json_from_go(word: &str) -> String {
    let upper = word.chars().take_while(char::is_ascii_uppercase).count();
    let rest = &word[upper..];
    let lower = match upper {
        0 | 1 => upper,
        _ if rest.is_empty() || rest == "s" => upper,
        _ => upper - 1,
    };
    format!("{}{}", word[..lower].to_ascii_lowercase(), &word[lower..])
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').filter(|p| !p.is_empty()).enumerate() {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(if i == 0 {
                first
            } else {
                first.to_ascii_uppercase()
            });
            out.extend(chars);
        }
    }
    out
}

// === groups and special messages ===

/// apiVersion → module, for every API module (the group comes from any kind k8s-pb
/// registers in the group, else from the group's folder name).
fn group_versions(
    messages: &[PbMessage],
    versions: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let group_of = |module: &str| -> String {
        let parent = module.rsplit_once("::").map_or(module, |(p, _)| p);
        let known = versions
            .iter()
            .find(|(m, _)| m.rsplit_once("::").is_some_and(|(p, _)| p == parent));
        if let Some((_, api_version)) = known {
            return api_version
                .rsplit_once('/')
                .map_or("", |(g, _)| g)
                .to_string();
        }
        match parent.rsplit("::").next().unwrap_or_default() {
            "core" => String::new(),
            "meta" => "meta.k8s.io".into(),
            "extensions" => "extensions".into(),
            label => format!("{label}.k8s.io"),
        }
    };
    let mut out = BTreeMap::new();
    for message in messages {
        let m = message.module.as_str();
        let api = m.starts_with("api::")
            || m.starts_with("apiextensions_apiserver::")
            || m.starts_with("kube_aggregator::")
            || m.starts_with("apimachinery::pkg::apis::meta::");
        if api {
            let version = m.rsplit("::").next().unwrap_or_default();
            let group = group_of(m);
            let api_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            out.insert(api_version, m.to_string());
        }
    }
    out
}

fn special(message: &PbMessage) -> &'static str {
    let meta = |name: &str| message.module == META_V1 && message.name == name;
    let extensions = message.module.starts_with("apiextensions_apiserver::");
    match message.name.as_str() {
        "Time" if meta("Time") => "Time",
        "MicroTime" if meta("MicroTime") => "MicroTime",
        "Duration" if meta("Duration") => "Duration",
        "FieldsV1" if meta("FieldsV1") => "RawJson",
        "RawExtension" if message.module == "apimachinery::pkg::runtime" => "RawExtension",
        "Quantity" | "QuantityValue" if message.module == "apimachinery::pkg::api::resource" => {
            "Quantity"
        }
        "IntOrString" if message.module == "apimachinery::pkg::util::intstr" => "IntOrString",
        "Json" if extensions => "RawJson",
        "JsonSchemaPropsOrBool" if extensions => "SchemaOrBool",
        "JsonSchemaPropsOrArray" if extensions => "SchemaOrArray",
        "JsonSchemaPropsOrStringArray" if extensions => "SchemaOrStringArray",
        _ if message.nullable
            && message.fields.len() == 1
            && matches!(message.fields[0].layout, Layout::Repeated) =>
        {
            "StringList"
        }
        _ => "None",
    }
}

// === inline fields ===

/// Finds Go's embedded structs tagged `json:",inline"` (Volume's VolumeSource, Probe's
/// ProbeHandler, the `LocalObjectReference` in key selectors): protobuf keeps them as a
/// field, JSON flattens their members into the parent. Such a field is one that
/// k8s-openapi's type lacks while holding most of the embedded type's JSON names.
/// A type k8s-openapi lacks (older or newer versions) follows the same-named type's
/// field elsewhere (`resource.k8s.io/v1` `DeviceClaimConfiguration` as in `v1beta1`).
struct Inlines<'a> {
    by_path: HashMap<String, &'a PbMessage>,
    names: &'a JsonNames,
    /// (type name, field) pairs found inline where k8s-openapi has the type.
    known: HashSet<(String, String)>,
    /// Embedded type → a type k8s-openapi has that inlines it (VolumeSource → Volume),
    /// whose JSON names the embedded type's fields carry.
    hosts: HashMap<String, &'a PbMessage>,
}

impl<'a> Inlines<'a> {
    fn new(messages: &'a [PbMessage], names: &'a JsonNames) -> Self {
        let mut inlines = Inlines {
            by_path: messages.iter().map(|m| (m.path(), m)).collect(),
            names,
            known: HashSet::new(),
            hosts: HashMap::new(),
        };
        let found: Vec<(&PbMessage, &PbField)> = messages
            .iter()
            .flat_map(|m| m.fields.iter().map(move |f| (m, f)))
            .filter(|(m, f)| inlines.is_inline(m, f, 0))
            .collect();
        for (host, field) in found {
            inlines
                .known
                .insert((host.name.clone(), field.rust.clone()));
            inlines.hosts.entry(field.ty.clone()).or_insert(host);
        }
        inlines
    }

    /// Whether `field` of `message` is inline, by k8s-openapi or by a same-named type.
    fn inline(&self, message: &PbMessage, field: &PbField) -> bool {
        match self.names.fields_of(message) {
            Some(_) => self.is_inline(message, field, 0),
            None => self
                .known
                .contains(&(message.name.clone(), field.rust.clone())),
        }
    }

    fn is_inline(&self, message: &PbMessage, field: &PbField, depth: usize) -> bool {
        let (Some(fields), Some(target)) =
            (self.names.fields_of(message), self.by_path.get(&field.ty))
        else {
            return false;
        };
        if depth > 8
            || !matches!(field.layout, Layout::Optional)
            || fields.contains_key(&normalize(&field.rust))
        {
            return false;
        }
        let flat = self.flat_names(target, depth + 1);
        let present = flat
            .iter()
            .filter(|name| fields.contains_key(*name))
            .count();
        present > 0 && present * 2 >= flat.len()
    }

    /// The JSON names a message contributes, its own inline fields flattened.
    fn flat_names(&self, message: &PbMessage, depth: usize) -> Vec<String> {
        let mut names = Vec::new();
        for field in &message.fields {
            match self
                .by_path
                .get(&field.ty)
                .filter(|_| self.is_inline(message, field, depth))
            {
                Some(target) => names.extend(self.flat_names(target, depth + 1)),
                None => names.push(normalize(&field.rust)),
            }
        }
        names
    }
}

// === output ===

fn emit(
    messages: &[PbMessage],
    versions: &BTreeMap<String, String>,
    names: &JsonNames,
) -> Result<String, String> {
    let package = |m: &PbMessage| format!("k8s.io.{}", m.module.replace("::", "."));
    let mut order: Vec<&PbMessage> = messages.iter().collect();
    order.sort_by_key(|m| (package(m), names.type_name(m).to_ascii_lowercase()));
    let index: HashMap<String, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path(), i))
        .collect();
    for required in ["Time", "MicroTime", "Duration", "FieldsV1"].map(|n| format!("{META_V1}::{n}"))
    {
        index
            .get(&required)
            .ok_or(format!("k8s-pb has no {required}"))?;
    }
    let inlines = Inlines::new(messages, names);
    let mut code = String::from(
        "// @generated by keelson's build.rs from the sources of k8s-pb and k8s-openapi.\n\n",
    );
    for (i, message) in order.iter().enumerate() {
        let package = package(message);
        let (name, special) = (names.type_name(message), special(message));
        let host = inlines.hosts.get(&message.path()).copied();
        let _ = write!(code, "static M{i}: Message = Message {{ package: {package:?}, name: {name:?}, special: Special::{special}, fields: &[");
        let mut fields: Vec<&PbField> = message.fields.iter().collect();
        fields.sort_by_key(|f| f.tag);
        for f in fields {
            let ty = match index.get(&f.ty) {
                Some(target) => format!("Type::Message(&M{target})"),
                None => format!(
                    "Type::Scalar({})",
                    scalar(&f.ty).ok_or(format!("{}: unknown type {}", message.path(), f.ty))?
                ),
            };
            let label = match &f.layout {
                Layout::Optional if inlines.inline(message, f) => "Label::Inline".to_string(),
                Layout::Optional => "Label::Optional".to_string(),
                Layout::Repeated => "Label::Repeated".to_string(),
                Layout::Map(key) => {
                    format!("Label::Map({})", scalar(key).unwrap_or("Scalar::String"))
                }
            };
            let _ = write!(
                code,
                "Field {{ tag: {}, json: {:?}, ty: {ty}, label: {label} }}, ",
                f.tag,
                names.json_name(message, host, f)
            );
        }
        code.push_str("] };\n");
    }
    code.push_str("\n/// Every message, sorted by package and lowercase name.\nstatic MESSAGES: &[&Message] = &[");
    code.extend((0..order.len()).map(|i| format!("&M{i}, ")));
    code.push_str("];\n\n/// apiVersion → package, sorted by apiVersion.\nstatic GROUP_VERSIONS: &[(&str, &str)] = &[\n");
    for (api_version, module) in group_versions(messages, versions) {
        let _ = writeln!(
            code,
            "    ({api_version:?}, \"k8s.io.{}\"),",
            module.replace("::", ".")
        );
    }
    code.push_str("];\n");
    Ok(code)
}

fn scalar(name: &str) -> Option<&'static str> {
    Some(match name {
        "string" => "Scalar::String",
        "bytes" => "Scalar::Bytes",
        "bool" => "Scalar::Bool",
        "int32" => "Scalar::Int32",
        "int64" => "Scalar::Int64",
        "double" => "Scalar::Double",
        _ => return None,
    })
}
