//! Canonical JSON: object keys sorted, compact. Snapshot hashes are taken over it, so the same
//! content must always give the same bytes.

use serde_json::{Map, Value};

/// `value` as canonical JSON. Keys are sorted here rather than trusted to `serde_json::Map`:
/// were any crate of a build to enable serde_json's `preserve_order`, the map would keep
/// insertion order and every hash would change.
pub(crate) fn to_canonical_json(value: Value) -> String {
    sorted(value).to_string()
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect::<Map<String, Value>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(value: Value, expected: &str) {
        assert_eq!(to_canonical_json(value), expected);
    }

    #[test]
    fn sorts_keys_at_every_depth_and_writes_compactly() {
        check(
            json!({"b": 1, "a": [{"z": null, "y": "é\"\n"}], "c": {"k": 1.5, "j": true}}),
            r#"{"a":[{"y":"é\"\n","z":null}],"b":1,"c":{"j":true,"k":1.5}}"#,
        );
        check(json!([3, 10000.0, -0.25, 1e12]), "[3,10000.0,-0.25,1000000000000.0]");
    }
}
