//! Abuse limits: sign-ins and registrations are rate-limited per client address and per
//! account, guest sessions per address (429 `rate_limited` with a `Retry-After` after which
//! the next attempt succeeds), and password checks run on a bounded number of threads with a
//! bounded queue (503 `server_busy` beyond it), so a burst of sign-ins cannot take the api's
//! memory with it. Different client addresses are real: each client binds its own loopback
//! address (127.0.0.x).

mod process;

use crate::app::TestApp;
use process::ApiProcess;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::time::Duration;
use testkit::Scratch;

/// An HTTP client whose requests come from `address` (any 127.0.0.x reaches loopback).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Response {
    http.post(url).json(&body).send().await.unwrap()
}

fn credentials(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password})
}

/// Asserts a 429 `rate_limited` answer and returns its `Retry-After`, in seconds.
async fn rate_limited(response: Response) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    retry_after
}

async fn register(app: &TestApp, http: &reqwest::Client, username: &str) -> Response {
    let body = credentials(username, "correct horse");
    post(http, app.url("/api/auth/register"), body).await
}

async fn login(app: &TestApp, http: &reqwest::Client, username: &str, password: &str) -> Response {
    post(
        http,
        app.url("/api/auth/login"),
        credentials(username, password),
    )
    .await
}

async fn guest(app: &TestApp, http: &reqwest::Client, forwarded_for: Option<&str>) -> Response {
    let mut request = http.post(app.url("/api/auth/guest"));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn sign_ins_over_the_account_limit_wait_exactly_as_long_as_retry_after_says() {
    let app = TestApp::spawn_with(|s| {
        s.rate_window_seconds = 2;
        s.login_per_account = 3;
    })
    .await;
    let http = client_from("127.0.0.1");
    assert_eq!(
        register(&app, &http, "ada").await.status(),
        StatusCode::CREATED
    );
    for _ in 0..3 {
        let wrong = login(&app, &http, "ada", "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Over the limit even with the right password: the password is not even checked.
    let retry_after = rate_limited(login(&app, &http, "ada", "correct horse").await).await;
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let again = login(&app, &http, "ada", "correct horse").await;
    assert_eq!(again.status(), StatusCode::OK, "after Retry-After");
}

#[tokio::test]
async fn the_account_limit_counts_attempts_from_every_address() {
    let app = TestApp::spawn_with(|s| s.login_per_account = 3).await;
    assert_eq!(
        register(&app, &client_from("127.0.0.1"), "ada")
            .await
            .status(),
        StatusCode::CREATED
    );
    for address in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let wrong = login(&app, &client_from(address), "ada", "guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "from {address}");
    }
    let fifth = client_from("127.0.0.5");
    rate_limited(login(&app, &fifth, "ada", "correct horse").await).await;
    // The address itself is not limited: another account is still tried.
    let other = login(&app, &fifth, "bob", "correct horse").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_ins_and_registrations_are_limited_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.login_per_address = 3;
        s.register_per_address = 2;
    })
    .await;
    let (one, two) = (client_from("127.0.0.6"), client_from("127.0.0.7"));
    for name in ["ada", "bob"] {
        assert_eq!(
            register(&app, &one, name).await.status(),
            StatusCode::CREATED
        );
    }
    rate_limited(register(&app, &one, "cyd").await).await;
    assert_eq!(
        register(&app, &two, "cyd").await.status(),
        StatusCode::CREATED
    );

    // Each account once, so that only the address can be over its limit.
    for name in ["ada", "bob", "cyd"] {
        let wrong = login(&app, &one, name, "guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    rate_limited(login(&app, &one, "dan", "guess").await).await;
    let elsewhere = login(&app, &two, "ada", "correct horse").await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
}

#[tokio::test]
async fn guest_sessions_are_limited_per_address_until_the_window_ends() {
    let app = TestApp::spawn_with(|s| {
        s.rate_window_seconds = 2;
        s.guests_per_address = 2;
    })
    .await;
    let (one, two) = (client_from("127.0.0.8"), client_from("127.0.0.9"));
    for _ in 0..2 {
        assert_eq!(guest(&app, &one, None).await.status(), StatusCode::CREATED);
    }
    let retry_after = rate_limited(guest(&app, &one, None).await).await;
    assert_eq!(guest(&app, &two, None).await.status(), StatusCode::CREATED);
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        guest(&app, &one, None).await.status(),
        StatusCode::CREATED,
        "after Retry-After"
    );
}

#[tokio::test]
async fn only_a_trusted_proxy_says_who_the_client_is() {
    let app = TestApp::spawn_with(|s| {
        s.guests_per_address = 1;
        s.trusted_proxies = api::limits::client::TrustedProxies::parse("127.0.0.10").unwrap();
    })
    .await;
    // Through the proxy: each forwarded address is a client of its own.
    let proxy = client_from("127.0.0.10");
    let through = |address| guest(&app, &proxy, Some(address));
    assert_eq!(through("198.51.100.1").await.status(), StatusCode::CREATED);
    rate_limited(through("198.51.100.1").await).await;
    // What a client put in front of the proxy's hop changes nothing.
    rate_limited(through("203.0.113.5, 198.51.100.1").await).await;
    assert_eq!(through("198.51.100.2").await.status(), StatusCode::CREATED);

    // Anyone else claiming to forward is the client itself.
    let direct = client_from("127.0.0.11");
    let claiming = |address| guest(&app, &direct, Some(address));
    assert_eq!(claiming("198.51.100.3").await.status(), StatusCode::CREATED);
    rate_limited(claiming("198.51.100.4").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_beyond_the_queue_are_refused_with_server_busy() {
    let app = TestApp::spawn_with(|s| {
        s.hashing_concurrency = 1;
        s.hashing_queue = 1;
        s.login_per_account = 1000;
        s.login_per_address = 1000;
    })
    .await;
    let http = client_from("127.0.0.12");
    assert_eq!(
        register(&app, &http, "ada").await.status(),
        StatusCode::CREATED
    );
    let answers = burst(&http, &app.url("/api/auth/login"), 32).await;
    let busy = count(&answers, StatusCode::SERVICE_UNAVAILABLE, "server_busy");
    let checked = count(&answers, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(busy + checked, answers.len(), "{answers:?}");
    assert!(busy > 0 && checked > 0, "{answers:?}");
    assert!(
        answers.iter().all(
            |(status, _, retry)| *status != StatusCode::SERVICE_UNAVAILABLE
                || retry.as_deref() == Some("1")
        ),
        "{answers:?}"
    );
}

/// `n` concurrent wrong-password sign-ins of `ada`: each answer's status, code and
/// `Retry-After`.
async fn burst(
    http: &reqwest::Client,
    url: &str,
    n: usize,
) -> Vec<(StatusCode, String, Option<String>)> {
    let attempts = (0..n).map(|i| {
        let (http, url) = (http.clone(), url.to_owned());
        tokio::spawn(async move {
            let body = credentials("ada", &format!("wrong password {i}"));
            let response = post(&http, url, body).await;
            let status = response.status();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap();
            (
                status,
                body["error"]["code"].as_str().unwrap().to_owned(),
                retry,
            )
        })
    });
    let mut answers = Vec::with_capacity(n);
    for attempt in attempts.collect::<Vec<_>>() {
        answers.push(attempt.await.unwrap());
    }
    answers
}

fn count(
    answers: &[(StatusCode, String, Option<String>)],
    status: StatusCode,
    code: &str,
) -> usize {
    answers
        .iter()
        .filter(|(s, c, _)| *s == status && c == code)
        .count()
}

/// How much more memory than when it started the api may hold at its peak while it registers,
/// signs in and answers a burst, in KiB. The two hashing threads each keep one argon2 block of
/// 19 MiB (38 MiB); the 64 connections, their requests and answers, the database and Redis
/// connections take a few MiB more (measured: 40 MiB in all). Without the cap, every check of
/// the burst at once needs 64 × 19 MiB (measured with 64 hashing threads: 763 MiB; the issue
/// saw the api go from 93 MiB to 3.4 GiB).
const BURST_GROWTH_KIB: u64 = 64 * 1024;

/// Registers `ada` on a fresh api process, signs her in once, fires 64 concurrent
/// wrong-password sign-ins and returns their answers with the process's peak memory growth
/// since it started, in KiB.
async fn burst_on_a_process(
    overrides: &[(&str, &str)],
) -> (Vec<(StatusCode, String, Option<String>)>, u64) {
    let scratch = Scratch::new("api").await;
    let api = ApiProcess::start(&scratch, overrides).await;
    let before = api.resident_kib();
    api.reset_peak();
    let http = client_from("127.0.0.13");
    let account = credentials("ada", "correct horse");
    let registered = post(&http, api.url("/api/auth/register"), account.clone()).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let signed_in = post(&http, api.url("/api/auth/login"), account).await;
    assert_eq!(signed_in.status(), StatusCode::OK);

    let answers = burst(&http, &api.url("/api/auth/login"), 64).await;
    let growth = api.peak_kib().saturating_sub(before);
    println!(
        "api process: {} MiB at start, peak {} MiB by the end of the burst",
        before / 1024,
        api.peak_kib() / 1024
    );
    (answers, growth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_wrong_password_sign_ins_get_429s_in_bounded_memory() {
    // The defaults: 10 attempts per account per minute, 2 hashing threads.
    let (answers, growth) = burst_on_a_process(&[]).await;
    let limited = count(&answers, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let checked = count(&answers, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The earlier sign-in was the first of ten.
    assert_eq!((checked, limited), (9, 55), "{answers:?}");
    assert!(
        growth <= BURST_GROWTH_KIB,
        "the burst grew the api by {} MiB",
        growth / 1024
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rate_limits_the_hashing_threads_still_bound_memory() {
    // As if the 64 came from 64 addresses for 64 accounts: every one reaches the hashing.
    let limits = [("login_per_account", "1000"), ("login_per_address", "1000")];
    let (answers, growth) = burst_on_a_process(&limits).await;
    let busy = count(&answers, StatusCode::SERVICE_UNAVAILABLE, "server_busy");
    let checked = count(&answers, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(busy + checked, 64, "{answers:?}");
    assert!(checked >= 32, "at least the 32 that may wait: {answers:?}");
    assert!(
        growth <= BURST_GROWTH_KIB,
        "the burst grew the api by {} MiB",
        growth / 1024
    );
}
