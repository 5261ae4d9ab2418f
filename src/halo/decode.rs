//! Reading Halo's JSON answers into wire types, with the endpoint named in every error.

use serde_json::Value;

use super::HaloError;

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    value: Value,
) -> Result<T, HaloError> {
    serde_json::from_value(value).map_err(|e| HaloError::Decode {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
    })
}

pub(crate) fn decode_list<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    value: Value,
    key: &str,
) -> Result<Vec<T>, HaloError> {
    let items = list_items(value, key).ok_or_else(|| HaloError::Decode {
        endpoint: endpoint.to_string(),
        message: format!("expected a list or an object with '{key}'"),
    })?;
    items
        .into_iter()
        .map(|item| decode(endpoint, item))
        .collect()
}

/// Lists come as a plain array or wrapped (`{"teams": [...]}`); accept both.
fn list_items(value: Value, key: &str) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        Value::Object(mut map) => match map.remove(key) {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_plain_or_wrapped() {
        let plain = list_items(serde_json::json!([{"id": 1}]), "teams").unwrap();
        let wrapped = list_items(serde_json::json!({"teams": [{"id": 1}]}), "teams").unwrap();
        assert_eq!(plain, wrapped);
        assert!(list_items(serde_json::json!({"other": []}), "teams").is_none());
    }
}
