//! The layer lint: every dependency between workspace crates must point to a strictly lower
//! layer (a higher `[package.metadata] layer`), or to the same layer when explicitly allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

/// The subset of `cargo metadata --format-version 1` output the check needs.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub packages: Vec<Package>,
    pub workspace_members: Vec<String>,
    /// `[workspace.metadata]`; `null` when absent.
    #[serde(default)]
    pub metadata: Value,
}

#[derive(Debug, Deserialize)]
pub struct Package {
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// `[package.metadata]`; `null` when absent.
    #[serde(default)]
    pub metadata: Value,
}

#[derive(Debug, Deserialize)]
pub struct Dependency {
    /// The depended-on package's name (not the `rename`).
    pub name: String,
    /// `null` (normal), `"dev"` or `"build"`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `null` for path dependencies; registry/git dependencies are never internal.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    Normal,
    Build,
    Dev,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "normal",
            DepKind::Build => "build",
            DepKind::Dev => "dev",
        })
    }
}

/// A dependency between two workspace crates, with every kind under which it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kinds: BTreeSet<DepKind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// `from` depends on a crate in a higher layer (a smaller number).
    UpwardEdge { edge: Edge, from_layer: i64, to_layer: i64 },
    /// `from` depends on a crate in its own layer without an allowed-same-layer entry.
    UnlistedSameLayer { edge: Edge, layer: i64 },
    /// A workspace crate has no `[package.metadata] layer`.
    MissingLayer { krate: String },
    /// A workspace crate's `layer` is not an integer.
    InvalidLayer { krate: String, value: String },
    /// The allowed-same-layer entries form a cycle (first element repeated at the end).
    AllowedCycle { cycle: Vec<String> },
    /// An allowed-same-layer entry names a crate that is not a workspace member.
    AllowedUnknownCrate { from: String, to: String, unknown: String },
    /// An allowed-same-layer entry joins crates that are not in the same layer.
    AllowedNotSameLayer { from: String, to: String, from_layer: i64, to_layer: i64 },
    /// `[workspace.metadata.layers] allowed-same-layer` is not a list of `["from", "to"]`.
    MalformedAllowed { detail: String },
}

fn kinds(edge: &Edge) -> String {
    let names: Vec<String> = edge.kinds.iter().map(ToString::to_string).collect();
    names.join(", ")
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UpwardEdge { edge, from_layer, to_layer } => write!(
                f,
                "upward edge: {} -> {} (layer {from_layer} -> layer {to_layer}) [{}]",
                edge.from,
                edge.to,
                kinds(edge)
            ),
            Violation::UnlistedSameLayer { edge, layer } => write!(
                f,
                "unlisted same-layer edge: {} -> {} (layer {layer} -> layer {layer}) [{}]; \
                 add [\"{}\", \"{}\"] to [workspace.metadata.layers] allowed-same-layer if intended",
                edge.from,
                edge.to,
                kinds(edge),
                edge.from,
                edge.to
            ),
            Violation::MissingLayer { krate } => {
                write!(f, "missing layer: workspace crate `{krate}` has no `[package.metadata] layer = N`")
            }
            Violation::InvalidLayer { krate, value } => write!(
                f,
                "invalid layer: workspace crate `{krate}` has `layer = {value}` (expected an integer)"
            ),
            Violation::AllowedCycle { cycle } => {
                write!(f, "cycle in allowed-same-layer: {}", cycle.join(" -> "))
            }
            Violation::AllowedUnknownCrate { from, to, unknown } => write!(
                f,
                "unknown crate in allowed-same-layer: entry [\"{from}\", \"{to}\"] names `{unknown}`, \
                 which is not a workspace crate"
            ),
            Violation::AllowedNotSameLayer { from, to, from_layer, to_layer } => write!(
                f,
                "allowed-same-layer entry is not same-layer: {from} -> {to} \
                 (layer {from_layer} -> layer {to_layer})"
            ),
            Violation::MalformedAllowed { detail } => {
                write!(f, "malformed [workspace.metadata.layers] allowed-same-layer: {detail}")
            }
        }
    }
}

/// Names of the workspace members, in name order.
fn members(meta: &Metadata) -> BTreeMap<&str, &Package> {
    let ids: BTreeSet<&str> = meta.workspace_members.iter().map(String::as_str).collect();
    meta.packages.iter().filter(|p| ids.contains(p.id.as_str())).map(|p| (p.name.as_str(), p)).collect()
}

/// Every dependency (normal, build or dev) of a workspace member on another workspace member,
/// deduplicated per `(from, to)` and sorted.
pub fn internal_edges(meta: &Metadata) -> Vec<Edge> {
    let members = members(meta);
    let mut edges: BTreeMap<(&str, &str), BTreeSet<DepKind>> = BTreeMap::new();
    for (&from, pkg) in &members {
        for dep in &pkg.dependencies {
            if dep.source.is_some() || !members.contains_key(dep.name.as_str()) {
                continue;
            }
            let kind = match dep.kind.as_deref() {
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                _ => DepKind::Normal,
            };
            edges.entry((from, dep.name.as_str())).or_default().insert(kind);
        }
    }
    edges
        .into_iter()
        .map(|((from, to), kinds)| Edge { from: from.to_owned(), to: to.to_owned(), kinds })
        .collect()
}

/// Parses `[workspace.metadata.layers] allowed-same-layer` into `(from, to)` pairs.
fn allowed_pairs(meta: &Metadata) -> Result<BTreeSet<(String, String)>, String> {
    let Some(list) = meta.metadata.get("layers").and_then(|l| l.get("allowed-same-layer")) else {
        return Ok(BTreeSet::new());
    };
    let Some(list) = list.as_array() else {
        return Err(format!("expected a list of [\"from\", \"to\"] pairs, found {list}"));
    };
    list.iter()
        .map(|entry| match entry.as_array().map(Vec::as_slice) {
            Some([Value::String(from), Value::String(to)]) => Ok((from.clone(), to.clone())),
            _ => Err(format!("expected a [\"from\", \"to\"] pair of crate names, found {entry}")),
        })
        .collect()
}

/// One cycle per back edge found by a depth-first walk of the allowed-same-layer graph, each
/// rotated to start at its smallest name and closed by repeating it.
fn cycles(pairs: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    #[derive(PartialEq)]
    enum State {
        Visiting,
        Done,
    }

    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, State>,
        stack: &mut Vec<&'a str>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        state.insert(node, State::Visiting);
        stack.push(node);
        for &next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                None => visit(next, graph, state, stack, found),
                Some(State::Visiting) => {
                    if let Some(pos) = stack.iter().position(|&n| n == next) {
                        let mut cycle: Vec<String> = stack[pos..].iter().map(|&n| n.to_owned()).collect();
                        if let Some(min) = (0..cycle.len()).min_by_key(|&i| &cycle[i]) {
                            cycle.rotate_left(min);
                        }
                        if let Some(first) = cycle.first().cloned() {
                            cycle.push(first);
                        }
                        found.insert(cycle);
                    }
                }
                Some(State::Done) => {}
            }
        }
        stack.pop();
        state.insert(node, State::Done);
    }

    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in pairs {
        graph.entry(from).or_default().push(to);
    }
    let mut state = BTreeMap::new();
    let mut found = BTreeSet::new();
    for &node in graph.keys() {
        if !state.contains_key(node) {
            visit(node, &graph, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found.into_iter().collect()
}

/// Checks the layering of the workspace described by `meta`; empty means it holds.
pub fn check(meta: &Metadata) -> Vec<Violation> {
    let mut violations = Vec::new();
    let members = members(meta);

    let mut layers: BTreeMap<&str, i64> = BTreeMap::new();
    for (&name, pkg) in &members {
        match pkg.metadata.get("layer") {
            None => violations.push(Violation::MissingLayer { krate: name.to_owned() }),
            Some(value) => match value.as_i64() {
                Some(layer) => {
                    layers.insert(name, layer);
                }
                None => violations
                    .push(Violation::InvalidLayer { krate: name.to_owned(), value: value.to_string() }),
            },
        }
    }

    let allowed = match allowed_pairs(meta) {
        Ok(pairs) => pairs,
        Err(detail) => {
            violations.push(Violation::MalformedAllowed { detail });
            BTreeSet::new()
        }
    };
    for (from, to) in &allowed {
        let unknown: Vec<&String> =
            [from, to].into_iter().filter(|n| !members.contains_key(n.as_str())).collect();
        for name in &unknown {
            violations.push(Violation::AllowedUnknownCrate {
                from: from.clone(),
                to: to.clone(),
                unknown: (*name).clone(),
            });
        }
        if unknown.is_empty()
            && let (Some(&from_layer), Some(&to_layer)) = (layers.get(from.as_str()), layers.get(to.as_str()))
            && from_layer != to_layer
        {
            violations.push(Violation::AllowedNotSameLayer {
                from: from.clone(),
                to: to.clone(),
                from_layer,
                to_layer,
            });
        }
    }
    for cycle in cycles(&allowed) {
        violations.push(Violation::AllowedCycle { cycle });
    }

    for edge in internal_edges(meta) {
        // Crates without a valid layer are already reported; their edges cannot be judged.
        let (Some(&from_layer), Some(&to_layer)) =
            (layers.get(edge.from.as_str()), layers.get(edge.to.as_str()))
        else {
            continue;
        };
        if to_layer < from_layer {
            violations.push(Violation::UpwardEdge { edge, from_layer, to_layer });
        } else if to_layer == from_layer && !allowed.contains(&(edge.from.clone(), edge.to.clone())) {
            violations.push(Violation::UnlistedSameLayer { edge, layer: from_layer });
        }
    }
    violations
}

/// Runs `cargo metadata --no-deps` (no resolution, nothing compiled) on the workspace at `root`.
pub fn load_metadata(root: &Path) -> Result<Metadata> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running `{} metadata`", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!("`cargo metadata` failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).context("parsing `cargo metadata` output")
}

/// `cargo xtask layers`: prints a one-line summary, or every violation to stderr and an error.
pub fn run(root: &Path) -> Result<()> {
    let meta = load_metadata(root)?;
    let violations = check(&meta);
    if violations.is_empty() {
        println!(
            "layers: {} crates, {} internal edges, ok",
            members(&meta).len(),
            internal_edges(&meta).len()
        );
        return Ok(());
    }
    for violation in &violations {
        eprintln!("{violation}");
    }
    bail!("layers: {} violation(s)", violations.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A minimal `cargo metadata`-shaped package: `deps` are `(name, kind)` path dependencies.
    fn pkg(name: &str, layer: Option<Value>, deps: &[(&str, Option<&str>)]) -> Value {
        let deps: Vec<Value> =
            deps.iter().map(|(dep, kind)| json!({ "name": dep, "kind": kind, "source": null })).collect();
        let metadata = layer.map(|l| json!({ "layer": l }));
        json!({
            "name": name,
            "id": format!("path+file:///ws/{name}#0.0.0"),
            "dependencies": deps,
            "metadata": metadata,
        })
    }

    /// A minimal `cargo metadata --format-version 1` document as a JSON string.
    fn workspace(packages: &[Value], allowed: &[[&str; 2]]) -> String {
        let members: Vec<&Value> = packages.iter().map(|p| &p["id"]).collect();
        json!({
            "packages": packages,
            "workspace_members": members,
            "metadata": { "layers": { "allowed-same-layer": allowed } },
        })
        .to_string()
    }

    /// The violations `check` finds in a metadata JSON string, as display lines.
    fn violations(metadata_json: &str) -> Vec<String> {
        let meta: Metadata = serde_json::from_str(metadata_json).unwrap();
        check(&meta).iter().map(ToString::to_string).collect()
    }

    fn l(n: i64) -> Option<Value> {
        Some(json!(n))
    }

    /// api(2) -> facades(3) -> {store(6), model(6)}; store -> model (listed); eng-a/eng-b at 4.
    fn base(extra: &[(&str, Option<&str>)], engine_deps: &[(&str, Option<&str>)]) -> Vec<Value> {
        vec![
            pkg("api", l(2), &[("facades", None), ("model", None)]),
            pkg("facades", l(3), &[("store", None), ("model", None), ("eng-a", None)]),
            pkg("eng-a", l(4), engine_deps),
            pkg("eng-b", l(4), &[("model", None)]),
            pkg("store", l(6), &[("model", None), ("serde", None)]),
            pkg("model", l(6), extra),
        ]
    }

    #[test]
    fn check_catches_each_case() {
        let ok_allowed: &[[&str; 2]] = &[["store", "model"]];
        let cases: Vec<(&str, String, &[&str])> = vec![
            ("clean workspace passes", workspace(&base(&[], &[]), ok_allowed), &[]),
            (
                "upward edge",
                workspace(&base(&[("api", None)], &[]), ok_allowed),
                &["upward edge: model -> api (layer 6 -> layer 2) [normal]"],
            ),
            (
                "dev-dependency upward edge",
                workspace(&base(&[("facades", Some("dev"))], &[]), ok_allowed),
                &["upward edge: model -> facades (layer 6 -> layer 3) [dev]"],
            ),
            (
                "build-dependency upward edge",
                workspace(&base(&[("eng-b", Some("build"))], &[]), ok_allowed),
                &["upward edge: model -> eng-b (layer 6 -> layer 4) [build]"],
            ),
            (
                "unlisted same-layer edge",
                workspace(&base(&[], &[("eng-b", None)]), ok_allowed),
                &["unlisted same-layer edge: eng-a -> eng-b (layer 4 -> layer 4) [normal]"],
            ),
            (
                "listed same-layer edge passes",
                workspace(&base(&[], &[("eng-b", None)]), &[["store", "model"], ["eng-a", "eng-b"]]),
                &[],
            ),
            (
                "the listed direction only",
                workspace(&base(&[], &[]), &[["model", "store"]]),
                &["unlisted same-layer edge: store -> model (layer 6 -> layer 6)"],
            ),
            (
                "missing layer",
                workspace(&[pkg("api", l(2), &[("orphan", None)]), pkg("orphan", None, &[])], &[]),
                &["missing layer: workspace crate `orphan`"],
            ),
            (
                "non-integer layer",
                workspace(&[pkg("api", Some(json!("2")), &[])], &[]),
                &["invalid layer: workspace crate `api` has `layer = \"2\"`"],
            ),
            (
                "cycle in allowed list",
                workspace(
                    &base(&[], &[("eng-b", None)]),
                    &[["store", "model"], ["eng-b", "eng-a"], ["eng-a", "eng-b"]],
                ),
                &["cycle in allowed-same-layer: eng-a -> eng-b -> eng-a"],
            ),
            (
                "allowed entry naming an unknown crate",
                workspace(&base(&[], &[]), &[["store", "model"], ["ghost", "model"]]),
                &["unknown crate in allowed-same-layer: entry [\"ghost\", \"model\"] names `ghost`"],
            ),
            (
                "allowed entry across layers",
                workspace(&base(&[], &[]), &[["store", "model"], ["eng-a", "model"]]),
                &["allowed-same-layer entry is not same-layer: eng-a -> model (layer 4 -> layer 6)"],
            ),
            (
                "malformed allowed list",
                json!({
                    "packages": [pkg("api", l(2), &[])],
                    "workspace_members": ["path+file:///ws/api#0.0.0"],
                    "metadata": { "layers": { "allowed-same-layer": [["api"]] } },
                })
                .to_string(),
                &["malformed [workspace.metadata.layers] allowed-same-layer"],
            ),
        ];

        for (name, metadata_json, expected) in cases {
            let got = violations(&metadata_json);
            assert_eq!(got.len(), expected.len(), "case `{name}`: got {got:#?}");
            for want in expected {
                assert!(
                    got.iter().any(|g| g.contains(want)),
                    "case `{name}`: no violation contains {want:?}; got {got:#?}"
                );
            }
        }
    }

    #[test]
    fn parses_real_cargo_metadata_shape() {
        // Trimmed from real output: extra fields, `null` metadata, a registry dependency whose
        // name collides with a member (not internal), and a non-member package.
        let metadata_json = r#"{
          "packages": [
            {"name": "gov-model", "version": "0.0.0", "id": "path+file:///ws/crates/gov-model#0.0.0",
             "source": null, "metadata": {"layer": 6},
             "dependencies": [
               {"name": "gov-api", "source": "registry+https://github.com/rust-lang/crates.io-index",
                "req": "^1", "kind": null, "rename": null, "optional": false,
                "uses_default_features": true, "features": [], "target": null, "registry": null}
             ]},
            {"name": "gov-api", "version": "0.0.0", "id": "path+file:///ws/crates/gov-api#0.0.0",
             "source": null, "metadata": {"layer": 2},
             "dependencies": [
               {"name": "gov-model", "source": null, "req": "*", "kind": null, "rename": "model",
                "optional": false, "uses_default_features": true, "features": [], "target": null,
                "registry": null, "path": "/ws/crates/gov-model"},
               {"name": "gov-model", "source": null, "req": "*", "kind": "dev", "rename": null,
                "optional": false, "uses_default_features": true, "features": [], "target": null,
                "registry": null, "path": "/ws/crates/gov-model"}
             ]},
            {"name": "outsider", "version": "1.0.0", "id": "registry+x#outsider@1.0.0",
             "source": "registry+x", "metadata": null, "dependencies": []}
          ],
          "workspace_members": ["path+file:///ws/crates/gov-model#0.0.0",
                                "path+file:///ws/crates/gov-api#0.0.0"],
          "resolve": null,
          "metadata": null
        }"#;
        let meta: Metadata = serde_json::from_str(metadata_json).unwrap();
        assert!(check(&meta).is_empty(), "{:?}", check(&meta));
        let edges = internal_edges(&meta);
        assert_eq!(edges.len(), 1);
        assert_eq!((edges[0].from.as_str(), edges[0].to.as_str()), ("gov-api", "gov-model"));
        assert_eq!(edges[0].kinds, BTreeSet::from([DepKind::Normal, DepKind::Dev]));
    }

    #[test]
    fn workspace_layers_hold() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let meta = load_metadata(root).unwrap();
        let violations: Vec<String> = check(&meta).iter().map(ToString::to_string).collect();
        assert!(violations.is_empty(), "layer violations:\n{}", violations.join("\n"));
        assert!(members(&meta).len() > 1, "expected the whole workspace");
    }
}
