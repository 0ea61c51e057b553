//! Canned responses: shared ones (managed by supervisors and admins) and each agent's own,
//! with placeholders filled in for one conversation.

pub mod routes;

pub use routes::router;

/// What a canned response's placeholders are filled with.
pub struct Values<'a> {
    pub customer_name: Option<&'a str>,
    pub customer_attributes: &'a serde_json::Value,
    pub agent_name: &'a str,
    pub conversation_number: i64,
}

impl Values<'_> {
    /// The value of placeholder `key` (`None` for an unknown placeholder, which stays as typed
    /// so a misspelt one is seen rather than silently emptied).
    fn get(&self, key: &str) -> Option<String> {
        let name = self.customer_name.unwrap_or("").trim();
        match key {
            "customer.name" => Some(name.to_string()),
            "customer.first_name" => Some(name.split_whitespace().next().unwrap_or("").into()),
            "agent.name" => Some(self.agent_name.to_string()),
            "conversation.number" => Some(self.conversation_number.to_string()),
            _ => {
                let attr = key.strip_prefix("customer.attributes.")?;
                Some(match self.customer_attributes.get(attr) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
            }
        }
    }
}

/// `body` with every `{{ placeholder }}` it knows replaced (spaces inside the braces allowed).
pub fn render(body: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        let key = rest[open + 2..open + 2 + close].trim();
        out.push_str(&rest[..open]);
        match values.get(key) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..open + 4 + close]),
        }
        rest = &rest[open + 4 + close..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let attrs = json!({"plan": "طلایی", "orders": 3});
        let v = Values {
            customer_name: Some("علی کریمی"),
            customer_attributes: &attrs,
            agent_name: "Sara",
            conversation_number: 1042,
        };
        let body = "سلام {{customer.first_name}} ({{ customer.name }}), #{{conversation.number}} \
                    {{customer.attributes.plan}} {{customer.attributes.orders}} \
                    {{customer.attributes.none}}|{{agent.name}} {{unknown}} {{open";
        assert_eq!(
            render(body, &v),
            "سلام علی (علی کریمی), #1042 طلایی 3 |Sara {{unknown}} {{open"
        );
    }

    #[test]
    fn a_customer_without_a_name_gets_empty_names() {
        let v = Values {
            customer_name: None,
            customer_attributes: &serde_json::Value::Null,
            agent_name: "A",
            conversation_number: 1,
        };
        assert_eq!(render("Hi {{customer.first_name}}!", &v), "Hi !");
    }
}
