//! Every response carries `x-request-id`: the caller's when it is a sensible one, else a new
//! one per request.

use crate::Services;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_is_echoed_or_made_up() {
    let services = Services::start().await;
    let http = reqwest::Client::new();
    for service in [&services.api, &services.hub, &services.relay] {
        let echoed = http
            .get(service.url("/healthz"))
            .header("x-request-id", "trace-42.a_b:c")
            .send()
            .await
            .unwrap();
        assert_eq!(echoed.headers()["x-request-id"], "trace-42.a_b:c");

        let mut made_up = Vec::new();
        for forged in ["line\nbreak", "", &"x".repeat(200)] {
            let response = http
                .get(service.url("/healthz"))
                .header("x-request-id", forged.replace('\n', "\\n"))
                .send()
                .await
                .unwrap();
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                !id.is_empty() && id.len() <= 128 && !id.contains('\\'),
                "{id}"
            );
            made_up.push(id);
        }
        made_up.sort();
        made_up.dedup();
        assert_eq!(made_up.len(), 3, "each request gets its own id");
    }
}
