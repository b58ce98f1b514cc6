//! The teacher's authoring page in headless Chromium against the real stack (a grader running
//! trials and submissions in Docker): a teacher writes an assignment (a Markdown handout with
//! its live preview, two tests, one hidden), sees the api's refusal next to the field it names,
//! tries a reference solution, saves and publishes; a student, in a second browser, solves it
//! and is accepted. Screenshots: `target/screenshots/authoring-*.png`.

use super::*;

const HANDOUT: &str = "# Squares\n\nRead a number `n` and print `n * n`.";
const SOLUTION: &str = "n = int(input())\nprint(n * n)\n";
const ENTER: &str = "\u{E007}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_writes_an_assignment_in_the_page_that_a_student_then_solves() -> Result<()> {
    with_two_browsers(
        ["authoring-teacher", "authoring-student"],
        async |stack, _, teacher, student| authoring(stack, teacher, student).await,
    )
    .await
}

/// Sets the field `css` to `text` as typing it over its whole content would.
async fn fill(browser: &Browser, css: &str, text: &str) -> Result<()> {
    browser
        .execute(
            "const field = document.querySelector(arguments[0]);
             field.value = arguments[1];
             field.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(css), json!(text)],
        )
        .await?;
    Ok(())
}

async fn authoring(stack: &Stack, t: &Browser, s: &Browser) -> Result<()> {
    let base = stack.api.base();
    let http = reqwest::Client::new();
    let tess = testkit::browser::register(&http, &base, "tess", "Tess").await?;
    stack.scratch.make_teacher("tess").await;
    let course: Value = http
        .post(format!("{base}/api/courses"))
        .bearer_auth(tess["token"].as_str().context("a token")?)
        .json(&json!({"title": "Squares and roots"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let course = course["id"].as_i64().context("a course id")?;

    // From the course page to its authoring page.
    t.resize(1400, 1800).await?;
    t.sign_in(&base, &tess, &format!("#/courses/{course}"))
        .await?;
    t.click("#course-authoring").await?;
    t.wait_for(
        "the authoring page with an empty list",
        STEP,
        "return !!document.getElementById('assignment-form')
             && document.querySelector('#authoring-list .empty')",
    )
    .await?;

    // The handout, previewed as students will see it.
    t.type_into("#a-title", "Squares").await?;
    t.type_into("#a-handout", HANDOUT).await?;
    t.wait_for(
        "the handout's preview",
        STEP,
        "const p = document.getElementById('handout-preview');
         return p.querySelector('h1')?.textContent === 'Squares' && [...p.querySelectorAll('code')].some((c) => c.textContent === 'n * n')",
    )
    .await?;

    // Two tests, the second hidden.
    t.type_into("#test-1-name", "small").await?;
    t.type_into("#test-1-stdin", "3").await?;
    t.type_into("#test-1-expected_stdout", "9").await?;
    t.click("#add-test").await?;
    t.type_into("#test-2-name", "big").await?;
    t.type_into("#test-2-stdin", "12").await?;
    t.type_into("#test-2-expected_stdout", "144").await?;
    t.click("#test-2-hidden").await?;

    // Over the operator's bound: the api's refusal shows next to the time limit.
    fill(t, "#a-time-limit-ms", "60000").await?;
    t.click("#save").await?;
    let refusal = t
        .wait_for(
            "the time limit's error next to it",
            STEP,
            "const e = document.getElementById('a-time-limit-ms-error');
             return document.getElementById('a-time-limit-ms').getAttribute('aria-invalid') === 'true'
                 && e.textContent.includes('10000') && document.activeElement.id === 'a-time-limit-ms'
                 && e.textContent",
        )
        .await?;
    eprintln!("refused: {refusal}");
    t.screenshot("field-error").await?;
    fill(t, "#a-time-limit-ms", "2000").await?;

    // The reference solution against the tests, before saving: graded by the grader.
    t.type_into("#a-code", SOLUTION).await?;
    let trying = Instant::now();
    t.click("#try-reference").await?;
    let tried = t
        .wait_for(
            "the trial's verdict",
            VERDICT,
            "const v = document.getElementById('trial-verdict');
             const rows = [...document.querySelectorAll('#trial-tests tbody tr')]
                 .map((r) => [...r.cells].map((c) => c.textContent));
             return v && v.textContent === 'Accepted' && rows.length === 2 ? rows : null",
        )
        .await?;
    eprintln!(
        "the trial's verdict shown {} ms after the click",
        trying.elapsed().as_millis()
    );
    check(
        tried == json!([["small", "Visible", "Passed"], ["big", "Hidden", "Passed"]]),
        "each test passed, the hidden one marked so",
        &tried,
    )?;
    t.execute(
        "document.getElementById('trial-result').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await?;
    t.screenshot("trial").await?;
    check(
        t.execute(
            "return document.getElementById('a-time-limit-ms-error').textContent",
            vec![],
        )
        .await?
            == json!(""),
        "the fixed field's error is gone",
        &json!(null),
    )?;
    let created = t
        .execute(
            "return document.querySelectorAll('#authoring-list [data-assignment-id]').length",
            vec![],
        )
        .await?;
    check(created == json!(0), "trying saved nothing", &created)?;

    // Saved, then the course published.
    t.click("#save").await?;
    let assignment = t
        .wait_for(
            "the saved assignment in the list",
            STEP,
            "const row = document.querySelector('#authoring-list [data-assignment-id]');
             return document.getElementById('saved') && row && row.textContent.includes('Squares')
                 ? Number(row.dataset.assignmentId) : null",
        )
        .await?
        .as_i64()
        .context("assignment id")?;
    // The header stays at the top of the window: the button must be out from under it.
    t.execute("window.scrollTo(0, 0)", vec![]).await?;
    t.click("#publish").await?;
    t.wait_for(
        "the course published",
        STEP,
        "return document.getElementById('publish-state').textContent.startsWith('Published')
             && document.getElementById('publish').textContent === 'Unpublish course'",
    )
    .await?;
    t.screenshot("page").await?;

    // A second one, moved before the first from the keyboard, then deleted after confirming.
    t.click("#new-assignment").await?;
    t.type_into("#a-title", "Cubes").await?;
    t.type_into("#test-1-name", "small").await?;
    t.type_into("#test-1-stdin", "2").await?;
    t.type_into("#test-1-expected_stdout", "8").await?;
    t.click("#save").await?;
    let rows = "return [...document.querySelectorAll('#authoring-list [data-assignment-id]')]
                    .map((row) => row.querySelector('.title').textContent)";
    t.wait_for(
        "Cubes listed second",
        STEP,
        &format!("const titles = (() => {{ {rows} }})(); return titles.join() === 'Squares,Cubes'"),
    )
    .await?;
    t.find("#authoring-list [data-assignment-id]:last-child .move-up")
        .await?
        .send_keys(ENTER)
        .await?;
    t.wait_for(
        "Cubes moved first, the focus still on its button",
        STEP,
        &format!(
            "const titles = (() => {{ {rows} }})();
             const focused = document.activeElement.closest('[data-assignment-id]');
             return titles.join() === 'Cubes,Squares' && focused?.textContent.includes('Cubes')"
        ),
    )
    .await?;
    let listed: Value = http
        .get(format!("{base}/api/courses/{course}/assignments"))
        .bearer_auth(tess["token"].as_str().context("a token")?)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let order: Vec<&str> = listed["assignments"]
        .as_array()
        .context("assignments")?
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    check(
        order == ["Cubes", "Squares"],
        "the api keeps the new order",
        &listed,
    )?;
    let cubes = "#authoring-list [data-assignment-id]:first-child";
    t.click(&format!("{cubes} .delete")).await?;
    t.wait_for(
        "the confirmation, focused",
        STEP,
        "return document.activeElement.classList.contains('confirm-delete')",
    )
    .await?;
    t.screenshot("confirm-delete").await?;
    t.click(".cancel-delete").await?;
    t.click(&format!("{cubes} .delete")).await?;
    t.click(".confirm-delete").await?;
    t.wait_for(
        "Cubes deleted",
        STEP,
        &format!("const titles = (() => {{ {rows} }})(); return titles.join() === 'Squares'"),
    )
    .await?;

    // A student finds it in the catalogue, reads the handout and solves it.
    let sam = testkit::browser::register(&http, &base, "sam", "Sam").await?;
    s.sign_in(&base, &sam, &format!("#/courses/{course}"))
        .await?;
    s.click(&format!(
        "a[href='#/courses/{course}/assignments/{assignment}']"
    ))
    .await?;
    s.wait_for_exercise("Squares").await?;
    let handout = s
        .execute(
            "return [document.querySelector('.handout-body h1')?.textContent,
                     document.querySelector('.eyebrow')?.textContent]",
            vec![],
        )
        .await?;
    check(
        handout == json!(["Squares", "Exercise 1 of 1"]),
        "the student reads the handout of the course's one exercise",
        &handout,
    )?;
    s.wait_for_live().await?;
    s.set_code(SOLUTION).await?;
    s.click("#submit").await?;
    s.wait_for_verdict(None, "accepted").await?;
    s.screenshot("solved").await?;
    Ok(())
}
