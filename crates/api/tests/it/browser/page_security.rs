//! The page's security headers and Content-Security-Policy, in Chromium: the UI (a copy of
//! `web/` with an import map and an inline module added to `index.html`, as the IDE's page
//! has) runs every inline script the file holds, allowed by the hashes the api computed at
//! start, logs no violation, and a script injected at run time is refused and reported. And a
//! session ends in the page when it reaches its maximum age, refreshes notwithstanding.

use super::*;
use crate::app::TestApp;

/// What `index.html` gets before its module: an import map and an inline module using it.
const INLINE: &str = r#"<script type="importmap">{"imports": {"page-security-probe": "./js/dom.js"}}</script>
  <script type="module">import { h } from "page-security-probe"; window.inlineModuleRan = typeof h === "function";</script>
  "#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_runs_its_own_inline_scripts_and_refuses_injected_ones() -> Result<()> {
    run_script("deploy/web/vendor.sh")?;
    let web = std::env::temp_dir().join(format!("web-{}", uuid::Uuid::new_v4().simple()));
    copy_dir(&repo_root().join("web"), &web)?;
    let index = std::fs::read_to_string(web.join("index.html"))?;
    let module = r#"<script type="module" src="js/app.js"></script>"#;
    anyhow::ensure!(index.contains(module), "index.html loads js/app.js");
    std::fs::write(
        web.join("index.html"),
        index.replace(module, &format!("{INLINE}{module}")),
    )?;
    // The page's own (the import map) and the two added here.
    let served = std::fs::read_to_string(web.join("index.html"))?;
    let inline_scripts = served
        .split("<script")
        .skip(1)
        .filter(|tag| !tag.split('>').next().unwrap_or_default().contains("src="))
        .count();
    anyhow::ensure!(inline_scripts == 3, "an import map and our two: {served}");
    let web_dir = web.display().to_string();
    let app = TestApp::spawn_with(move |s| {
        s.web_dir = web_dir;
        s.relay_url = Some("ws://127.0.0.1:9/ws".into());
        s.hub_url = Some("wss://hub.example/hub".into());
    })
    .await;
    let outcome = async {
        headers(&app, inline_scripts).await?;
        let browser = Browser::start("security").await?;
        let outcome = bounded(&[&browser], page(&app, &browser)).await;
        browser.quit().await;
        outcome
    }
    .await;
    let _ = std::fs::remove_dir_all(&web);
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_ends_a_session_at_its_maximum_age() -> Result<()> {
    run_script("deploy/web/vendor.sh")?;
    let web_dir = repo_root().join("web").display().to_string();
    // 8 s: the page refreshes halfway, gets the same expiry back and ends the session then.
    let app = TestApp::spawn_with(move |s| {
        s.web_dir = web_dir;
        s.session_max_age_seconds = 8;
    })
    .await;
    let browser = Browser::start("max-age").await?;
    let outcome = bounded(&[&browser], async {
        browser.goto(&app.url("/")).await?;
        browser.click("#guest-signin").await?;
        browser
            .wait_for(
                "a signed-in page",
                STEP,
                "return !document.getElementById('signout').hidden",
            )
            .await?;
        let started = Instant::now();
        browser
            .wait_for(
                "the sign-in page saying why",
                STEP,
                "const notice = document.getElementById('notice');
                 return !!document.getElementById('guest-signin') && !notice.hidden
                     && notice.textContent.includes('maximum age')",
            )
            .await?;
        // Not before the session's end, however many refreshes happened.
        anyhow::ensure!(
            started.elapsed() >= Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        browser.screenshot("01-session-over").await?;
        Ok(())
    })
    .await;
    browser.quit().await;
    outcome
}

async fn headers(app: &TestApp, inline_scripts: usize) -> Result<()> {
    let page = app.http().get(app.url("/")).send().await?;
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .with_context(|| format!("no {name} on /"))
    };
    let policy = header("content-security-policy")?;
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with(&format!("{name} ")))
            .map(str::to_owned)
            .with_context(|| format!("no {name} in {policy}"))
    };
    let scripts = directive("script-src")?;
    anyhow::ensure!(
        scripts.matches("'sha256-").count() == inline_scripts && !policy.contains("unsafe-inline"),
        "each of the {inline_scripts} inline scripts by hash, nothing inline otherwise: {scripts}"
    );
    anyhow::ensure!(directive("frame-ancestors")? == "frame-ancestors 'none'");
    anyhow::ensure!(
        directive("connect-src")? == "connect-src 'self' ws://127.0.0.1:9 wss://hub.example",
        "{policy}"
    );
    anyhow::ensure!(header("x-content-type-options")? == "nosniff");
    anyhow::ensure!(header("referrer-policy")? == "no-referrer");
    // The api's own answers carry them too.
    let me = app.http().get(app.url("/api/me")).send().await?;
    anyhow::ensure!(me.headers()["x-content-type-options"] == "nosniff");
    anyhow::ensure!(me.headers().contains_key("content-security-policy"));
    Ok(())
}

async fn page(app: &TestApp, browser: &Browser) -> Result<()> {
    browser.goto(&app.url("/")).await?;
    browser
        .wait_for(
            "the sign-in page with the inline module run",
            STEP,
            "return !!document.getElementById('guest-signin') && window.inlineModuleRan === true",
        )
        .await?;
    let violations = csp_messages(browser).await?;
    anyhow::ensure!(violations.is_empty(), "violations: {violations:?}");

    // A script injected at run time (as an XSS would) does not run, and Chromium says why.
    let ran = browser
        .execute(
            "const s = document.createElement('script');
             s.textContent = 'window.injectedRan = true';
             document.head.append(s);
             return window.injectedRan === true",
            vec![],
        )
        .await?;
    anyhow::ensure!(ran == json!(false), "the injected script ran");
    let reported = until("the violation in the console", STEP, || async {
        let messages = csp_messages(browser).await?;
        Ok((!messages.is_empty()).then_some(messages))
    })
    .await?;
    anyhow::ensure!(
        reported.iter().any(|m| m.contains("script-src")),
        "{reported:?}"
    );
    Ok(())
}

/// Console messages since the last call that report a Content-Security-Policy violation.
async fn csp_messages(browser: &Browser) -> Result<Vec<String>> {
    Ok(browser
        .console()
        .await?
        .into_iter()
        .map(|(_, message)| message)
        .filter(|m| m.contains("Content Security Policy"))
        .collect())
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
