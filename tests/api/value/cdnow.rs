//! The correctness bar through the API: the CDNOW sample (tests/fixtures/value) imported as
//! CSV and fitted with `as_of=1997-09-30` gives the published estimates within 1 %.
use super::*;
use crate::storage_tests;

fn cdnow_csv() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/value/CDNOW_sample.txt"
    );
    let text = std::fs::read_to_string(path).expect("CDNOW fixture");
    let mut csv = String::from("customer,external_id,amount,placed_at,currency\n");
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        csv.push_str(&format!(
            "external:cdnow-{},cdnow-{n},{},{},USD\n",
            f[1], f[4], f[2]
        ));
    }
    csv
}

fn within_one_percent(name: &str, got: &Value, published: f64) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{name} missing"));
    let off = (got - published).abs() / published;
    assert!(off < 0.01, "{name} = {got}, published {published}");
}

async fn the_cdnow_sample_reproduces_the_published_estimates(b: Backend) {
    let app = value_app(b).await;
    let (s, report) = import(&app, &app.admin_token, cdnow_csv()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 6919, "{report}");
    assert_eq!(report["rejected_total"], 0, "{report}");
    let (s, m) = app
        .get(
            "/api/v1/insights/customer-value?as_of=1997-09-30",
            &app.admin_token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["as_of"], "1997-09-30");
    assert_eq!(m["customers"], 2357, "{m}");
    assert_eq!(m["repeat_customers"], 946, "{m}");
    within_one_percent("r", &m["bg_nbd"]["r"], 0.243);
    within_one_percent("alpha (per day)", &m["bg_nbd"]["alpha"], 4.414 * 7.0);
    within_one_percent("a", &m["bg_nbd"]["a"], 0.793);
    within_one_percent("b", &m["bg_nbd"]["b"], 2.426);
    within_one_percent("p", &m["gamma_gamma"]["p"], 6.25);
    within_one_percent("q", &m["gamma_gamma"]["q"], 3.74);
    within_one_percent("v", &m["gamma_gamma"]["v"], 15.44);
    // A fit for a date is not stored: the profile still has no model.
    assert_eq!(m["stored"], false);
}

storage_tests!(the_cdnow_sample_reproduces_the_published_estimates);
