//! The web UI's static files, served at `/`, and the security headers of every answer of the
//! api: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and a
//! Content-Security-Policy that runs no script but the UI's own files and the inline scripts
//! of its `index.html` (the import map), allowed by their SHA-256 computed here at start, with
//! no framing (`frame-ancestors 'none'`) and connections only to this origin and the relay's
//! and hub's configured URLs. A page with its own policy (the api's docs) keeps it.

use crate::error::ApiError;
use crate::settings::Settings;
use actix_files::Files;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The security headers, computed once at start.
pub struct PageSecurity {
    policy: HeaderValue,
}

impl PageSecurity {
    /// The policy for the UI whose `index.html` is `index_html` (none: no UI) talking to the
    /// relay and hub of `settings`.
    pub fn new(settings: &Settings, index_html: Option<&str>) -> Result<Self, ApiError> {
        let mut connect = vec!["'self'".to_owned()];
        for (key, url) in [
            ("relay_url", &settings.relay_url),
            ("hub_url", &settings.hub_url),
        ] {
            let Some(url) = url else { continue };
            // A path on this origin adds nothing to `'self'`.
            let origin =
                origin(url).map_err(|problem| ApiError::Startup(format!("`{key}` {problem}")))?;
            connect.extend(origin);
        }
        let policy = policy(index_html.unwrap_or_default(), &connect);
        Ok(Self {
            policy: HeaderValue::from_str(&policy)
                .map_err(|e| ApiError::Startup(format!("content security policy: {e}")))?,
        })
    }
}

/// The policy of an HTML page: its inline scripts and styles by their hashes, the UI's own
/// files, and `connect` for fetch and WebSockets.
pub fn policy(html: &str, connect: &[String]) -> String {
    let sources = |tag: &str| {
        inline_elements(html, tag)
            .map(|text| format!(" 'sha256-{}'", sha256_base64(text)))
            .collect::<String>()
    };
    format!(
        "default-src 'none'; script-src 'self'{scripts}; style-src 'self'{styles}; \
         img-src 'self' data: https:; font-src 'self'; connect-src {connect}; \
         manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        scripts = sources("script"),
        styles = sources("style"),
        connect = connect.join(" "),
    )
}

/// The text of every `<tag>` element of `html` without a `src` attribute, exactly as the
/// browser hashes it (everything between the opening and the closing tag).
fn inline_elements<'a>(html: &'a str, tag: &str) -> impl Iterator<Item = &'a str> + 'a {
    let lower = html.to_ascii_lowercase();
    let (open, close) = (format!("<{tag}"), format!("</{tag}"));
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find(&open).map(|i| at + i) {
        let after_name = start + open.len();
        // `<scripts>` or `<styled>` are other elements.
        if !lower[after_name..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            at = after_name;
            continue;
        }
        let Some(body) = lower[after_name..].find('>').map(|i| after_name + i + 1) else {
            break;
        };
        let Some(end) = lower[body..].find(&close).map(|i| body + i) else {
            break;
        };
        if !has_src(&lower[after_name..body]) {
            found.push(&html[body..end]);
        }
        at = end + close.len();
    }
    found.into_iter()
}

/// Whether the attributes of an opening tag include `src`.
fn has_src(attributes: &str) -> bool {
    attributes
        .split(|c: char| c.is_ascii_whitespace() || c == '>')
        .any(|attribute| attribute == "src" || attribute.starts_with("src="))
}

fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// The origin (`scheme://host[:port]`) of an absolute URL, or `None` for a path on this origin.
fn origin(url: &str) -> Result<Option<String>, String> {
    if url.starts_with('/') && !url.starts_with("//") {
        return Ok(None);
    }
    let schemes = ["ws://", "wss://", "http://", "https://"];
    let Some(scheme) = schemes.iter().find(|s| url.starts_with(*s)) else {
        return Err(format!(
            "must be a path (`/ws`) or a ws, wss, http or https URL, not `{url}`"
        ));
    };
    let rest = &url[scheme.len()..];
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
    if host.is_empty() || !host.chars().all(allowed) {
        return Err(format!("has no usable host: `{url}`"));
    }
    Ok(Some(format!("{scheme}{host}")))
}

/// Adds the security headers to every answer.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let policy = req
        .app_data::<web::Data<PageSecurity>>()
        .map(|security| security.policy.clone());
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(policy) = policy {
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    Ok(response)
}

/// The UI's folder, if it holds an `index.html`, with that file's text.
pub fn find(web_dir: &str) -> Option<(PathBuf, String)> {
    let dir = PathBuf::from(web_dir);
    match std::fs::read_to_string(dir.join("index.html")) {
        Ok(index) => Some((dir, index)),
        Err(error) => {
            tracing::warn!(web_dir = %dir.display(), %error, "no web UI there; serving the api only");
            None
        }
    }
}

/// Serves the UI's files at `/` (registered last: every other route comes first).
pub fn configure(cfg: &mut web::ServiceConfig, web_dir: &std::path::Path) {
    cfg.service(Files::new("/", web_dir).index_file("index.html"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head>
<script type="importmap">{"imports": {"yjs": "./vendor/yjs/yjs.mjs"}}</script>
<script defer src="vendor/codemirror/lib/codemirror.js"></script>
<SCRIPT>window.ready = true;</SCRIPT>
<style>body { margin: 0 }</style>
<script type="module" src="js/app.js"></script>
</head><body><scripts-are-not-here></scripts-are-not-here></body></html>"#;

    #[test]
    fn every_inline_script_is_found_and_no_external_one() {
        let scripts: Vec<&str> = inline_elements(PAGE, "script").collect();
        assert_eq!(
            scripts,
            [
                r#"{"imports": {"yjs": "./vendor/yjs/yjs.mjs"}}"#,
                "window.ready = true;"
            ]
        );
        assert_eq!(
            inline_elements(PAGE, "style").collect::<Vec<_>>(),
            ["body { margin: 0 }"]
        );
    }

    #[test]
    fn the_policy_allows_inline_scripts_by_their_hash_only() {
        let policy = policy(PAGE, &["'self'".into(), "wss://relay.example".into()]);
        assert!(policy.contains("'sha256-"), "{policy}");
        let script_src = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert_eq!(script_src.matches("'sha256-").count(), 2, "{script_src}");
        assert!(script_src.contains(&format!(
            "'sha256-{}'",
            sha256_base64("window.ready = true;")
        )));
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("connect-src 'self' wss://relay.example;"));
    }

    #[test]
    fn hashes_are_those_a_browser_computes() {
        // The CSP specification's example: sha256 of `alert('Hello, world.');`.
        assert_eq!(
            sha256_base64("alert('Hello, world.');"),
            "qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
    }

    #[test]
    fn connect_sources_are_origins_of_absolute_urls() {
        assert_eq!(origin("/ws"), Ok(None));
        assert_eq!(
            origin("ws://127.0.0.1:8082/ws"),
            Ok(Some("ws://127.0.0.1:8082".into()))
        );
        assert_eq!(
            origin("wss://hub.example/hub?x=1"),
            Ok(Some("wss://hub.example".into()))
        );
        assert!(origin("ftp://x").is_err());
        assert!(origin("//relay.example/ws").is_err());
        assert!(origin("ws://a; script-src *").is_err());
    }
}
