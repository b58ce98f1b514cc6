//! The web UI in a real browser against the real stack ([`testkit::Stack`]: the api serving
//! `web/`, a grader running submissions in Docker, the relay pushing verdicts over a
//! WebSocket, and the hub, all in-process on port 0 with a scratch database and a Redis key
//! prefix of the test's own). Headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `deploy/web/browser.sh`) is driven over WebDriver by [`testkit::Browser`]
//! (fantoccini); [`exercise`] adds what the exercise page's scenarios wait for.
//!
//! Screenshots of every step are kept under `target/screenshots/` (`browser-*.png` for the
//! exercise scenario, `accounts-*.png` for signing in and out, `ide-*.png` for the projects
//! IDE, see [`ide`], `authoring-*.png` for the teacher's authoring page, see [`authoring`]).
//! [`modules`] runs the IDE's pure modules under Node's test runner.
//! [`page_security`] checks the page's headers and Content-Security-Policy on a page with
//! inline scripts.

use anyhow::{bail, Context as _, Result};
use serde_json::{json, Value};
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use testkit::browser::{run_script, until, STEP};
use testkit::env::repo_root;
use testkit::{Browser, Edge, Stack};

mod authoring;
mod class;
mod exercise;
mod ide;
mod modules;
mod page_security;
mod threads;

use exercise::ExercisePage as _;

/// Submit to verdict, container start included.
const VERDICT: Duration = Duration::from_secs(90);
/// The whole scenario.
const SCENARIO: Duration = Duration::from_secs(420);

const WRONG_HELLO: &str = "print(\"Hello, world\")\n";
const RIGHT_HELLO: &str = "print(\"Hello, World!\")\n";
const RIGHT_GREET: &str = "name = input()\nprint(f\"Hello, {name}!\")\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_solves_exercises_with_verdicts_pushed_live_to_the_page() -> Result<()> {
    let mut stack = start_stack().await?;
    let browser = Browser::start("browser").await?;
    let outcome = bounded(&[&browser], scenario(&mut stack, &browser)).await;
    browser.quit().await;
    stack.stop().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_sign_in_and_a_rejected_token_leads_back_to_sign_in() -> Result<()> {
    let stack = start_stack().await?;
    let browser = Browser::start("accounts").await?;
    let outcome = bounded(&[&browser], accounts(&stack, &browser)).await;
    browser.quit().await;
    stack.stop().await;
    outcome
}

/// The whole platform, with the browser libraries the pages import fetched first.
async fn start_stack() -> Result<Stack> {
    run_script("deploy/web/vendor.sh")?;
    Ok(Stack::start().await)
}

/// Two browsers, named `names`, against the whole platform behind a test edge (the page, the
/// api and the hub on one origin, with sockets the test can cut): runs `scenario` within
/// [`SCENARIO`], then closes the browsers and stops the platform, whatever the outcome.
async fn with_two_browsers(
    names: [&str; 2],
    scenario: impl AsyncFnOnce(&Stack, &Edge, &Browser, &Browser) -> Result<()>,
) -> Result<()> {
    let stack = start_stack().await?;
    let edge = Edge::start(stack.api.port, stack.hub.port).await;
    let a = Browser::start(names[0]).await?;
    let b = Browser::start(names[1]).await?;
    let outcome = bounded(&[&a, &b], scenario(&stack, &edge, &a, &b)).await;
    a.quit().await;
    b.quit().await;
    stack.stop().await;
    outcome
}

/// Runs `scenario` within [`SCENARIO`]; on failure keeps a screenshot of each of `browsers`
/// and prints their consoles.
async fn bounded(browsers: &[&Browser], scenario: impl Future<Output = Result<()>>) -> Result<()> {
    let outcome = match tokio::time::timeout(SCENARIO, scenario).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "the scenario took longer than {SCENARIO:?}"
        )),
    };
    if let Err(e) = &outcome {
        eprintln!("the scenario failed: {e:#}");
        for browser in browsers {
            let _ = browser.screenshot("failure").await;
            browser.dump_console().await;
        }
    }
    outcome
}

async fn scenario(stack: &mut Stack, browser: &Browser) -> Result<()> {
    let base = stack.api.base();

    // A first visit lands on the sign-in page.
    browser.goto(&format!("{base}/")).await?;
    browser
        .wait_for(
            "the sign-in page",
            STEP,
            "return !!document.getElementById('guest-signin')",
        )
        .await?;
    browser.screenshot("01-signin").await?;

    // A guest continues at the first unsolved exercise, with the relay connected.
    browser.click("#guest-signin").await?;
    let first = browser.wait_for_exercise("Hello, World!").await?;
    browser.wait_for_live().await?;
    browser
        .wait_for(
            "CodeMirror with the starter code",
            STEP,
            "const cm = document.querySelector('.CodeMirror');
             return !!cm && cm.CodeMirror.getValue().startsWith('print(')",
        )
        .await?;
    browser.screenshot("02-exercise-1").await?;

    // From here on, nothing may reload the page and the submission list may not be fetched:
    // verdicts must arrive over the relay.
    browser.execute(SPY, vec![]).await?;

    // A wrong solution, by the Submit button.
    browser.set_code(WRONG_HELLO).await?;
    browser.click("#submit").await?;
    let wrong = browser.wait_for_verdict(None, "wrong_answer").await?;
    let page = browser.execute(PAGE_STATE, vec![]).await?;
    check(
        page["verdictText"]
            .as_str()
            .unwrap_or("")
            .contains("Wrong answer"),
        "the badge says Wrong answer",
        &page,
    )?;
    check(
        page["feedback"].as_str().is_some_and(|f| !f.is_empty()),
        "the first failure's message is shown",
        &page,
    )?;
    check(
        page["testRows"] == json!(["failed"]),
        "the failing test is listed",
        &page,
    )?;
    browser
        .wait_for(
            "the verdict to be announced to screen readers",
            STEP,
            "return document.getElementById('announcer').textContent.includes('Wrong answer')",
        )
        .await?;
    browser.screenshot("03-wrong-answer").await?;

    // A right one, by Ctrl+Enter in the editor.
    browser.set_code(RIGHT_HELLO).await?;
    let editor = browser.find(".CodeMirror-code").await?;
    editor.click().await?;
    editor.send_keys("\u{E009}\u{E007}\u{E000}").await?;
    let accepted = browser
        .wait_for_verdict(Some(wrong), "accepted")
        .await
        .context("Ctrl+Enter submits")?;
    let page = browser.execute(PAGE_STATE, vec![]).await?;
    check(
        page["history"] == json!(2),
        "both submissions are listed",
        &page,
    )?;
    check(
        page["testRows"] == json!(["passed"]),
        "the test passed",
        &page,
    )?;
    check(
        page["reloaded"] == json!(false),
        "the page did not reload",
        &page,
    )?;
    check(
        page["listFetches"] == json!(0),
        "the verdicts came over the relay, not from refetching the list",
        &page,
    )?;
    browser.screenshot("04-accepted").await?;

    // Esc leaves the editor, so Tab (which indents there) never traps keyboard users.
    editor.send_keys("\u{E00C}").await?;
    browser
        .wait_for(
            "Esc to move the focus to Submit",
            STEP,
            "return document.activeElement && document.activeElement.id === 'submit'",
        )
        .await?;
    eprintln!("exercise {first}: submission {wrong} wrong_answer, {accepted} accepted");

    // The wrong one is deleted from the history; the accepted one stays shown.
    browser
        .execute("window.confirm = () => true", vec![])
        .await?;
    browser
        .click(&format!(
            "#history li[data-submission-id='{wrong}'] .button-danger"
        ))
        .await?;
    browser
        .wait_for(
            "the deleted submission to leave the history",
            STEP,
            "return document.querySelectorAll('#history li').length === 1
                 && document.getElementById('result').dataset.verdict === 'accepted'",
        )
        .await?;

    // "Next exercise" goes to exercise 2.
    browser.click("#next-exercise").await?;
    let second = browser.wait_for_exercise("Greet by name").await?;
    assert_ne!(first, second);
    browser.screenshot("05-exercise-2").await?;

    // Reloading stays there, and so does opening the app afresh: the first unsolved exercise.
    browser.refresh().await?;
    assert_eq!(browser.wait_for_exercise("Greet by name").await?, second);
    browser.screenshot("06-reloaded").await?;
    browser.goto(&format!("{base}/")).await?;
    assert_eq!(browser.wait_for_exercise("Greet by name").await?, second);
    browser.wait_for_live().await?;
    browser.screenshot("07-continues-at-first-unsolved").await?;

    // The api's errors are shown as readable messages: code over the size limit gets a 413.
    browser.set_code(&"#".repeat(70_000)).await?;
    browser.click("#submit").await?;
    browser
        .wait_for(
            "the 413 message",
            STEP,
            "const e = document.getElementById('submit-error');
             return e.textContent.includes('Too large') && e.textContent.includes('limit')",
        )
        .await?;
    browser.screenshot("08-code-too-large").await?;

    // The relay restarts while a submission is graded: the page reconnects and still shows
    // the verdict.
    stack.stop_relay().await;
    browser
        .wait_for(
            "the page to notice the relay is gone",
            STEP,
            "return document.getElementById('connection').dataset.state !== 'live'",
        )
        .await?;
    browser.execute(SPY, vec![]).await?;
    browser.set_code(RIGHT_GREET).await?;
    browser.click("#submit").await?;
    let pending = browser
        .wait_for(
            "the new submission to be listed",
            STEP,
            "const r = document.getElementById('result');
             return r.dataset.status === 'queued' || r.dataset.status === 'grading'
                 ? Number(r.dataset.submissionId) : null",
        )
        .await?
        .as_i64()
        .context("submission id")?;
    wait_until_graded(stack, browser, pending).await?;
    browser.screenshot("09-relay-down").await?;
    stack.start_relay().await;
    browser.wait_for_live().await?;
    browser
        .wait_for_verdict(Some(accepted), "accepted")
        .await
        .context("the verdict shows after the relay came back")?;
    browser.screenshot("10-after-relay-restart").await?;

    // The course page counts both solved exercises and offers the third.
    browser.click(".crumbs a[href^='#/courses/']").await?;
    browser
        .wait_for(
            "the course page with its progress",
            STEP,
            "const c = document.getElementById('continue');
             return !!c && document.querySelector('.progress-meter').textContent.includes('2 of 8 solved')",
        )
        .await?;
    browser.screenshot("11-course").await?;

    // On a phone-sized screen the exercise page stacks its columns.
    browser.click("#continue").await?;
    browser.wait_for_exercise("Sum of two numbers").await?;
    browser.resize(420, 900).await?;
    browser.screenshot("12-narrow").await?;
    browser.resize(1280, 1100).await?;

    let errors = browser.script_errors().await?;
    if !errors.is_empty() {
        bail!("the page logged errors:\n{}", errors.join("\n"));
    }
    Ok(())
}

async fn accounts(stack: &Stack, browser: &Browser) -> Result<()> {
    let base = stack.api.base();
    browser.goto(&format!("{base}/#/courses")).await?;
    browser
        .wait_for(
            "the sign-in page, remembering where to go",
            STEP,
            "return !!document.getElementById('register-username')
                 && location.hash.startsWith('#/signin?next=')",
        )
        .await?;

    // The api's validation error lands on the field it names.
    browser.type_into("#register-username", "ada").await?;
    browser.type_into("#register-password", "short").await?;
    browser.click("#register button[type=submit]").await?;
    browser
        .wait_for(
            "the password's error",
            STEP,
            "const input = document.getElementById('register-password');
             return input.getAttribute('aria-invalid') === 'true'
                 && document.getElementById('register-password-error').textContent.includes('8 to 128')
                 && document.activeElement === input",
        )
        .await?;
    browser.screenshot("01-register-error").await?;
    browser.type_into("#register-password", " and more").await?;
    browser.click("#register button[type=submit]").await?;
    browser
        .wait_for(
            "the course list after registering",
            STEP,
            "return location.hash === '#/courses' && !!document.querySelector('.course-list')
                 && document.getElementById('whoami').textContent === 'ada'",
        )
        .await?;
    browser.screenshot("02-registered").await?;

    // Signing out and in again; a wrong password is said so. Signing out revoked the token:
    // a copy of it is refused.
    let token = page_token(browser).await?;
    browser.click("#signout").await?;
    browser
        .wait_for(
            "the sign-in page after signing out",
            STEP,
            "return !!document.getElementById('login-username')
                 && document.getElementById('signout').hidden
                 && localStorage.getItem('cp.session') === null",
        )
        .await?;
    let me = reqwest::Client::new()
        .get(stack.api.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await?;
    let refusal: Value = me.json().await?;
    check(
        refusal["error"]["code"] == "token_revoked",
        "the signed-out token to be revoked",
        &refusal,
    )?;
    browser.type_into("#login-username", "ada").await?;
    browser
        .type_into("#login-password", "wrong password")
        .await?;
    browser.click("#login button[type=submit]").await?;
    browser
        .wait_for(
            "the wrong password's message",
            STEP,
            "return document.querySelector('#login .alert').textContent.includes('Wrong username or password')",
        )
        .await?;
    browser.screenshot("03-login-error").await?;
    browser
        .execute(
            "document.getElementById('login-password').value = ''",
            vec![],
        )
        .await?;
    browser
        .type_into("#login-password", "short and more")
        .await?;
    browser.click("#login button[type=submit]").await?;
    // Back where the sign-out happened; the brand link continues at the first unsolved one.
    browser
        .wait_for(
            "the course list after signing in again",
            STEP,
            "return location.hash === '#/courses' && !!document.querySelector('.course-list')",
        )
        .await?;
    browser.click(".brand").await?;
    browser.wait_for_exercise("Hello, World!").await?;
    browser.wait_for_live().await?;

    // A token the api no longer accepts ends the session with a message, not a broken page.
    browser
        .execute(
            "const s = JSON.parse(localStorage.getItem('cp.session'));
             s.token = 'not-a-valid-token';
             localStorage.setItem('cp.session', JSON.stringify(s));",
            vec![],
        )
        .await?;
    browser.refresh().await?;
    browser
        .wait_for(
            "the sign-in page with a notice",
            STEP,
            "const notice = document.getElementById('notice');
             return !!document.getElementById('guest-signin') && !notice.hidden
                 && notice.textContent.includes('sign in again')
                 && location.hash.includes('next=')",
        )
        .await?;
    browser.screenshot("04-session-ended").await?;

    let errors = browser.script_errors().await?;
    if !errors.is_empty() {
        bail!("the page logged errors:\n{}", errors.join("\n"));
    }
    Ok(())
}

/// The token of the page's session.
async fn page_token(browser: &Browser) -> Result<String> {
    Ok(browser
        .execute(
            "return JSON.parse(localStorage.getItem('cp.session')).token",
            vec![],
        )
        .await?
        .as_str()
        .context("the page's token")?
        .to_owned())
}

/// Asks the api, with the page's own token, until `submission` has its verdict.
async fn wait_until_graded(stack: &Stack, browser: &Browser, submission: i64) -> Result<()> {
    let token = page_token(browser).await?;
    let url = stack.api.url(&format!("/api/submissions/{submission}"));
    let http = reqwest::Client::new();
    let (http, url, token) = (&http, &url, &token);
    until("the verdict to be recorded", VERDICT, move || async move {
        let view: Value = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok((view["status"] == "graded").then_some(()))
    })
    .await
}

fn check(ok: bool, what: &str, page: &Value) -> Result<()> {
    if !ok {
        bail!("expected {what}; the page: {page:#}");
    }
    Ok(())
}

/// Marks the page (a reload loses the mark) and counts fetches of submission lists.
const SPY: &str = "
    window.__notReloaded = true;
    window.__listFetches = 0;
    if (!window.__fetchSpy) {
        window.__fetchSpy = true;
        const original = window.fetch;
        window.fetch = (resource, init) => {
            const method = (init && init.method) || 'GET';
            if (method === 'GET' && /\\/api\\/assignments\\/\\d+\\/submissions$/.test(String(resource))) {
                window.__listFetches += 1;
            }
            return original(resource, init);
        };
    }";

/// What the tests look at on the exercise page.
const PAGE_STATE: &str = "
    const result = document.getElementById('result');
    const feedback = document.getElementById('feedback');
    return {
        hash: location.hash,
        title: document.querySelector('h1') && document.querySelector('h1').textContent,
        status: result && result.dataset.status,
        verdict: result && result.dataset.verdict,
        verdictText: (document.getElementById('verdict') || {}).textContent || '',
        feedback: feedback ? feedback.textContent : null,
        testRows: [...document.querySelectorAll('#tests tbody tr')].map(r => r.dataset.status),
        history: document.querySelectorAll('#history li').length,
        announced: document.getElementById('announcer').textContent,
        connection: document.getElementById('connection').dataset.state,
        submitError: (document.getElementById('submit-error') || {}).textContent || '',
        reloaded: !window.__notReloaded,
        listFetches: window.__listFetches,
    };";
