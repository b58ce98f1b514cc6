//! A class together in two browsers: a student and a teacher see each other online in the
//! course's people panel; the teacher follows the student and their editor moves with the
//! student from file to file; the student sees who follows them; the teacher's roster shows
//! the student online, where, and their verdict once graded. Screenshots:
//! `target/screenshots/class-*.png`.

use super::ide::{call, enrol, make_teacher, register, seeded_course, sign_in, wait_live_file};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_sees_who_is_online_and_follows_a_student_from_file_to_file() -> Result<()> {
    with_two_browsers(
        ["class-student", "class-teacher"],
        async |stack, edge, student, teacher| together(stack, edge, student, teacher).await,
    )
    .await
}

/// Waits until the people panel of `browser` shows `user` online (or not).
async fn sees_online(browser: &Browser, user: i64, online: bool) -> Result<()> {
    browser
        .wait_for(
            &format!("user {user} online: {online}"),
            STEP,
            &format!("return !!document.querySelector(\"#people li[data-user-id='{user}'][data-online='{online}']\")"),
        )
        .await
        .map(drop)
}

async fn together(stack: &Stack, edge: &Edge, s: &Browser, t: &Browser) -> Result<()> {
    let base = edge.base();
    let http = reqwest::Client::new();
    let course = seeded_course(&http, &base).await?;
    let sam = register(&http, &base, "sam", "Sam").await?;
    let tess = register(&http, &base, "tess", "Tess").await?;
    enrol(&http, &base, &sam, course).await?;
    make_teacher(stack, &tess, course).await?;

    // Sam's project with two files.
    let project = call(
        http.post(format!("{base}/hub/courses/{course}/project")),
        &sam,
    )
    .await?;
    let project = project["project"]["id"]
        .as_i64()
        .or_else(|| project["id"].as_i64())
        .context("a project id")?;
    for path in ["main.py", "notes.py"] {
        call(
            http.post(format!("{base}/hub/projects/{project}/files"))
                .json(&json!({"path": path, "directory": false})),
            &sam,
        )
        .await?;
    }

    // Sam works in main.py; Tess opens the course page: each sees the other online.
    sign_in(s, &base, &sam, &format!("#/projects/{project}")).await?;
    wait_live_file(s, "main.py").await?;
    sign_in(t, &base, &tess, &format!("#/courses/{course}")).await?;
    sees_online(t, sam.id, true).await?;
    sees_online(s, tess.id, true).await?;
    t.wait_for(
        "Sam's file in Tess's panel",
        STEP,
        &format!("return document.querySelector(\"#people li[data-user-id='{}'] .person-where\")?.textContent.includes('main.py')", sam.id),
    )
    .await?;
    t.screenshot("people-course-page").await?;

    // Tess follows Sam: her page goes to Sam's project and file.
    t.click(&format!(
        "#people li[data-user-id='{}'] button.follow",
        sam.id
    ))
    .await?;
    let (followed_project, _) = wait_live_file(t, "main.py").await?;
    check(
        followed_project == project,
        "Tess is in Sam's project",
        &json!(followed_project),
    )?;
    s.wait_for(
        "Sam sees that Tess follows him",
        STEP,
        "return document.getElementById('followers')?.textContent.includes('Tess')",
    )
    .await?;

    // Sam moves to notes.py and types: Tess's editor moves with him and shows his caret.
    s.execute(
        "const ide = window.__ide; ide.openTab(ide.files.find((f) => f.path === 'notes.py'), true)",
        vec![],
    )
    .await?;
    wait_live_file(s, "notes.py").await?;
    s.find(".editor-panel:not([hidden]) .CodeMirror-code")
        .await?
        .send_keys("# Sam was here\nprint('hi')\n")
        .await?;
    wait_live_file(t, "notes.py").await?;
    t.wait_for(
        "Sam's caret in Tess's editor",
        STEP,
        "return !!document.querySelector('.editor-panel:not([hidden]) .remote-caret')",
    )
    .await?;
    s.screenshot("people-followed").await?;
    t.screenshot("following").await?;

    // Tess stops following, then opens the roster: Sam online in notes.py, his first exercise
    // untried; he submits, and the roster shows it solved as soon as the verdict is recorded
    // (the page reads the roster only when the hub says Sam's progress changed).
    t.click(&format!(
        "#people li[data-user-id='{}'] button.follow",
        sam.id
    ))
    .await?;
    t.wait_for(
        "unfollowed",
        STEP,
        "return !document.querySelector('#people .person-followed')",
    )
    .await?;
    let list = call(
        http.get(format!("{base}/api/courses/{course}/assignments")),
        &sam,
    )
    .await?;
    let first = list["assignments"][0]["id"]
        .as_i64()
        .context("an assignment")?;
    t.execute(
        &format!("location.hash = '#/courses/{course}/roster'"),
        vec![],
    )
    .await?;
    t.wait_for(
        "Sam online in the roster",
        STEP,
        &format!("return document.querySelector(\"#roster-table tr[data-user-id='{}'][data-online='true'] .roster-now\")?.textContent.includes('notes.py')", sam.id),
    )
    .await?;
    let cell = format!(
        "#roster-table tr[data-user-id='{}'] td[data-assignment-id='{first}']",
        sam.id
    );
    t.wait_for(
        "Sam's first exercise untried in the roster",
        STEP,
        &format!("return document.querySelector(\"{cell}\")?.dataset.progress === 'untried'"),
    )
    .await?;
    call(
        http.post(format!("{base}/api/assignments/{first}/submissions"))
            .json(&json!({"code": RIGHT_HELLO})),
        &sam,
    )
    .await?;
    t.wait_for(
        "Sam's first exercise solved in the roster",
        VERDICT,
        &format!("return document.querySelector(\"{cell}\")?.dataset.progress === 'solved'"),
    )
    .await?;
    t.screenshot("roster").await?;

    // Sam leaves: the roster shows him offline.
    s.goto("about:blank").await?;
    sees_online(t, sam.id, false).await?;
    Ok(())
}
