//! JSON over HTTP to the api and the hub, as a browser calls them: an answer is either the
//! JSON body of a 2xx or a refusal with its status and `Retry-After`; a request that gets no
//! answer at all (connection refused, reset, timed out) is an error.

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// No request the campaign makes should take longer unless something is wrong.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long setup calls keep trying through refusals and unanswered requests.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the service answered.
#[derive(Debug)]
pub enum Answer {
    Ok(Value),
    Refused {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    /// Calls under `base` (`http://host:port`).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            base: base.to_owned(),
        })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .map(Duration::from_secs);
        let text = response.text().await?;
        if status.is_success() {
            let json = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).with_context(|| format!("{path}: {text}"))?
            };
            return Ok(Answer::Ok(json));
        }
        Ok(Answer::Refused {
            status: status.as_u16(),
            retry_after,
            body: text,
        })
    }

    /// Calls until a 2xx, waiting out 429, 5xx and unanswered requests (as `Retry-After` says,
    /// else a second) for up to a minute; any other refusal is an error. For setting up, where
    /// rate limits and a restarting service are not what is being measured.
    pub async fn patiently(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let wait = match self.call(method.clone(), path, token, body).await {
                Ok(Answer::Ok(json)) => return Ok(json),
                Ok(Answer::Refused {
                    status,
                    retry_after,
                    body,
                }) => {
                    anyhow::ensure!(
                        status == 429 || status >= 500,
                        "{method} {path}: {status} {body}"
                    );
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "{method} {path}: still {status} after {PATIENCE:?}: {body}"
                    );
                    retry_after.unwrap_or(Duration::from_secs(1))
                }
                Err(error) => {
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "{method} {path}: no answer for {PATIENCE:?}: {error:#}"
                    );
                    Duration::from_secs(1)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The integer `field` of a JSON answer.
pub fn id(json: &Value, field: &str) -> anyhow::Result<i64> {
    json[field]
        .as_i64()
        .with_context(|| format!("no integer `{field}` in {json}"))
}
