//! The embedded web console is served by the server itself; `browser` drives it in Chromium.

#[path = "console/assign.rs"]
mod assign;
#[path = "console/browser.rs"]
mod browser;
#[path = "console/call.rs"]
mod call;
#[path = "console/customer.rs"]
mod customer;
#[path = "console/delivery.rs"]
mod delivery;
#[path = "console/files.rs"]
mod files;
#[path = "console/mentions.rs"]
mod mentions;
#[path = "console/node.rs"]
pub mod node;
#[path = "console/queues.rs"]
mod queues;
#[path = "console/ringing.rs"]
mod ringing;
#[path = "console/search.rs"]
mod search;
#[path = "console/signals.rs"]
mod signals;
#[path = "console/small.rs"]
mod small;
#[path = "console/socket.rs"]
pub mod socket;
#[path = "console/take.rs"]
mod take;
#[path = "console/teams.rs"]
mod teams;
#[path = "console/value.rs"]
mod value;
#[path = "console/visitor.rs"]
mod visitor;
#[path = "console/wallboard.rs"]
mod wallboard;

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let app = spawn_app(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(app.url("/")).send().await.unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/console/");
    let page = client.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("console.js"), "{html}");
    for (path, ctype) in [
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(ctype));
        assert!(
            r.text().await.unwrap().len() > 1000,
            "{path} is the real bundle"
        );
    }
}
#[path = "console/resume.rs"]
mod resume;
