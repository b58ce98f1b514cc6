//! Questions pinned to code in two Chromium sessions: a student asks about a selection; the
//! marker follows the lines as Debian's y-websocket client (under Node) adds code above them;
//! the student edits the question, shows it to the course and replies; a teacher finds it in
//! their inbox, opens the file at its line, removes the reply, answers and resolves; the
//! student sees all of it.
//! Screenshots: `target/screenshots/qa-*.png`.

use super::ide::{
    enrol, make_teacher, register, seeded_course, sign_in, wait_live_file, NodeClient,
};
use super::*;

const CODE: &str = "def area(r):\n    return 3.14 * r * r\n\nprint(area(2))\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_asks_about_lines_and_a_teacher_answers_and_resolves() -> Result<()> {
    with_two_browsers(
        ["qa-student", "qa-teacher"],
        async |stack, edge, student, teacher| questions(stack, edge, student, teacher).await,
    )
    .await
}

async fn questions(stack: &Stack, edge: &Edge, s: &Browser, t: &Browser) -> Result<()> {
    let base = edge.base();
    let http = reqwest::Client::new();
    let course = seeded_course(&http, &base).await?;
    let sam = register(&http, &base, "sam", "Sam").await?;
    let tess = register(&http, &base, "tess", "Tess").await?;
    make_teacher(stack, &tess, course).await?;
    enrol(&http, &base, &sam, course).await?;

    // The student writes a little program in a new file of their project.
    sign_in(s, &base, &sam, "#/projects").await?;
    s.click(&format!("#own-projects button[data-course-id='{course}']"))
        .await?;
    s.wait_for(
        "the project page",
        STEP,
        "return !!document.getElementById('threads')",
    )
    .await?;
    s.click("#new-file").await?;
    s.type_into("#create-path", "area.py").await?;
    s.click("#create-dialog-submit").await?;
    let (project, file) = wait_live_file(s, "area.py").await?;
    s.execute(
        "const t = window.__ide.tabs.get(window.__ide.active).session; t.text.insert(0, arguments[0]);",
        vec![json!(CODE)],
    )
    .await?;

    // Selects line 2 and asks about it.
    s.execute(
        "const cm = window.__ide.tabs.get(window.__ide.active).session.cm; cm.focus(); cm.setSelection({line: 1, ch: 4}, {line: 1, ch: 23});",
        vec![],
    )
    .await?;
    s.click("#ask-question").await?;
    s.wait_for(
        "the question form",
        STEP,
        "return document.querySelector('#ask-form h3')?.textContent.includes('line 2 of area.py')",
    )
    .await?;
    s.type_into("#question-body", "Why 3.14 and not math.pi?")
        .await?;
    s.click("#question-submit").await?;
    s.wait_for(
        "the asked thread with its marker on line 2",
        STEP,
        "const panel = document.getElementById('thread-panel');
         return !panel.hidden && panel.textContent.includes('Why 3.14')
             && !!document.querySelector('.thread-marker[data-line=\"2\"]')",
    )
    .await?;

    // Debian's y-websocket client adds lines above: the marker moves with the code, and the
    // hub agrees (the inbox below shows the line the hub found).
    let node = NodeClient::join(edge, project, file, &sam.token)?;
    node.wait_text(CODE)?;
    node.send(json!({"cmd": "insert", "index": 0, "text": "import math\n\n"}))?;
    s.wait_for(
        "the marker on line 4",
        STEP,
        "return !!document.querySelector('.thread-marker[data-line=\"4\"]') && !document.querySelector('.thread-marker[data-line=\"2\"]')",
    )
    .await?;
    // The editor in view, with the marker, for the screenshot.
    s.execute(
        "document.querySelector('.ide-editor').scrollIntoView(); window.__ide.tabs.get(window.__ide.active).session.cm.setCursor({line: 3, ch: 0});",
        vec![],
    )
    .await?;
    s.screenshot("gutter").await?;
    let thread = s
        .execute(
            "return Number(document.getElementById('thread-panel').dataset.threadId)",
            vec![],
        )
        .await?;

    // The student sharpens the question in place, then adds a reply.
    s.click("#thread-comments .comment .edit-comment").await?;
    s.execute(
        "document.getElementById('edit-comment-body').value = ''",
        vec![],
    )
    .await?;
    s.type_into("#edit-comment-body", "Why 3.14 here and not math.pi?")
        .await?;
    s.click("#edit-comment-save").await?;
    s.wait_for("the edited question", STEP, "const c = document.querySelector('#thread-comments .comment'); return !!c && c.textContent.includes('here and not') && c.textContent.includes('(edited)')").await?;
    s.type_into("#reply-body", "first!").await?;
    s.click("#reply-submit").await?;
    s.wait_for(
        "the student's reply",
        STEP,
        "return document.querySelectorAll('#thread-comments .comment').length === 2",
    )
    .await?;

    s.click("#thread-visibility").await?;
    s.wait_for("shown to the course", STEP, "return !!document.getElementById('thread-course-wide') && document.getElementById('thread-visibility').textContent === 'Make private'").await?;

    // The teacher finds it in the inbox and opens the file at its line.
    sign_in(t, &base, &tess, "#/inbox").await?;
    t.wait_for(
        "the question in the inbox",
        STEP,
        // Where the hub says it is now: on line 4.
        &format!("return document.querySelector('.inbox-item[data-thread-id=\"{thread}\"]')?.textContent.includes('area.py, line 4')"),
    )
    .await?;
    t.screenshot("inbox").await?;
    t.click(&format!(".inbox-item[data-thread-id='{thread}'] a"))
        .await?;
    t.wait_for(
        "the file at the question's line with the thread open",
        STEP,
        &format!(
            "const ide = window.__ide; const tab = ide && ide.tabs.get({file});
             const panel = document.getElementById('thread-panel');
             return !!tab && tab.session.state === 'live' && tab.session.cm.getCursor().line === 3
                 && !!panel && !panel.hidden && panel.dataset.threadId === '{thread}'"
        ),
    )
    .await?;
    // A teacher removes anyone's comment, and answers.
    t.wait_for("the edited question and the reply", STEP, "const text = document.getElementById('thread-comments').textContent; return text.includes('here and not') && text.includes('first!')").await?;
    t.click("#thread-comments .comment:nth-child(2) .delete-comment")
        .await?;
    t.click("#delete-comment-dialog-submit").await?;
    t.wait_for(
        "the reply removed",
        STEP,
        "return document.querySelectorAll('#thread-comments .comment').length === 1",
    )
    .await?;
    t.type_into("#reply-body", "Use math.pi: it is exact to the last digit.")
        .await?;
    t.click("#reply-submit").await?;
    t.wait_for(
        "the reply",
        STEP,
        "return document.querySelectorAll('#thread-comments .comment').length === 2",
    )
    .await?;
    t.click("#resolve-thread").await?;
    t.wait_for(
        "resolved",
        STEP,
        "return document.getElementById('thread-state').textContent === 'Resolved'",
    )
    .await?;

    // The student sees the answer and the resolution without reloading.
    s.wait_for(
        "the teacher's answer, resolved",
        STEP,
        "const comments = document.querySelectorAll('#thread-comments .comment');
         return comments.length === 2 && comments[1].textContent.includes('math.pi')
             && document.getElementById('thread-state').textContent === 'Resolved'
             && !!document.querySelector('.thread-marker-resolved[data-line=\"4\"]')",
    )
    .await?;
    s.execute(
        "document.getElementById('threads').scrollIntoView()",
        vec![],
    )
    .await?;
    s.screenshot("thread-panel").await?;

    node.quit();
    t.goto(&format!("{base}/#/inbox")).await?;
    t.wait_for(
        "an empty inbox",
        STEP,
        "return document.getElementById('inbox')?.textContent === 'No open questions.'",
    )
    .await?;
    for browser in [s, t] {
        let errors = browser.script_errors().await?;
        check(errors.is_empty(), "no script errors", &json!(errors))?;
    }
    Ok(())
}
