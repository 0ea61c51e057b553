//! The served OpenAPI document: utoipa's output, completed with what it cannot see through
//! our own extractors (`ApiPath`): each `{name}` of a path template as a required path
//! parameter, so every operation declares exactly the parameters of its path.

use serde_json::{json, Value};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The document as JSON, with the path parameters filled in.
pub fn document(doc: utoipa::openapi::OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let names = template_names(path);
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    add_path_parameters(op, &names);
                }
            }
        }
    }
    v
}

/// The `{name}`s of a path template, in order.
fn template_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn add_path_parameters(op: &mut serde_json::Map<String, Value>, names: &[String]) {
    let params = op
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(params) = params.as_array_mut() else {
        return;
    };
    let declared = |name: &str, params: &[Value]| {
        params
            .iter()
            .any(|p| p["in"] == "path" && p["name"] == name)
    };
    for (i, name) in names.iter().enumerate() {
        if !declared(name, params) {
            params.insert(
                i.min(params.len()),
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
    }
    if params.is_empty() {
        op.remove("parameters");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_are_read_in_order() {
        assert_eq!(
            template_names("/customers/{id}/identities/{identity_id}"),
            ["id", "identity_id"]
        );
        assert!(template_names("/queues").is_empty());
    }

    #[test]
    fn missing_path_parameters_are_added_and_declared_ones_kept() {
        let mut op = serde_json::Map::new();
        op.insert(
            "parameters".into(),
            json!([{"name": "id", "in": "path", "required": true, "description": "kept"},
                   {"name": "limit", "in": "query"}]),
        );
        add_path_parameters(&mut op, &["id".into(), "identity_id".into()]);
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["id", "identity_id", "limit"]);
        assert_eq!(op["parameters"][0]["description"], "kept");
        let mut bare = serde_json::Map::new();
        add_path_parameters(&mut bare, &[]);
        assert!(bare.get("parameters").is_none());
    }
}
