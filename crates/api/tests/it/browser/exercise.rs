//! What the exercise page's scenarios wait for and do, on top of [`testkit::Browser`].

use super::*;

pub(crate) trait ExercisePage {
    /// Waits for the exercise page titled `title`; returns the assignment id from the URL.
    async fn wait_for_exercise(&self, title: &str) -> Result<i64>;
    /// Waits until the relay connection is live.
    async fn wait_for_live(&self) -> Result<()>;
    /// Waits until the result panel shows a submission newer than `after` with `verdict`;
    /// returns its id.
    async fn wait_for_verdict(&self, after: Option<i64>, verdict: &str) -> Result<i64>;
    /// Replaces the editor's content.
    async fn set_code(&self, code: &str) -> Result<()>;
}

impl ExercisePage for Browser {
    async fn wait_for_exercise(&self, title: &str) -> Result<i64> {
        let script = format!(
            "const m = /^#\\/courses\\/\\d+\\/assignments\\/(\\d+)$/.exec(location.hash);
             const h = document.getElementById('assignment-title');
             return m && h && h.textContent === {} && document.getElementById('result')
                 ? Number(m[1]) : null",
            json!(title)
        );
        self.wait_for(&format!("the exercise `{title}`"), STEP, &script)
            .await?
            .as_i64()
            .context("assignment id")
    }

    async fn wait_for_live(&self) -> Result<()> {
        self.wait_for(
            "the relay connection",
            STEP,
            "return document.getElementById('connection').dataset.state === 'live'",
        )
        .await?;
        Ok(())
    }

    async fn wait_for_verdict(&self, after: Option<i64>, verdict: &str) -> Result<i64> {
        let script = format!(
            "const r = document.getElementById('result');
             const id = Number(r.dataset.submissionId);
             return id > {} && r.dataset.verdict === {} ? id : null",
            after.unwrap_or(0),
            json!(verdict)
        );
        let found = self
            .wait_for(&format!("verdict {verdict}"), VERDICT, &script)
            .await;
        match found {
            Ok(id) => id.as_i64().context("submission id"),
            Err(e) => {
                let page = self.execute(PAGE_STATE, vec![]).await.unwrap_or_default();
                Err(e.context(format!("the page: {page:#}")))
            }
        }
    }

    async fn set_code(&self, code: &str) -> Result<()> {
        self.execute(
            "document.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
            vec![json!(code)],
        )
        .await?;
        Ok(())
    }
}
