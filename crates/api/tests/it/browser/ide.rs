//! The projects IDE in headless Chromium against the real stack, behind a [`testkit::Edge`]
//! that gives the page one origin for the api and the hub, as the stack's nginx does. Two
//! browsers, two people, one file: concurrent typing converges (and agrees with Debian's
//! y-websocket client and with Postgres), a cut socket reconnects without losing anything,
//! remote cursors land at the right place, renames and deletions follow; a teacher uploads a
//! template and watches a student type, read-only. Screenshots: `target/screenshots/ide-*.png`.

use super::*;
use diesel_async::RunQueryDsl;
use std::io::{BufRead, BufReader, Write};

/// Keystrokes each browser types at the same time as the other.
const KEYSTROKES: usize = 300;
/// Keys per WebDriver call: a burst as fast typing makes.
const BURST: usize = 6;

const ENTER: &str = "\u{E007}";
/// Whether leaving the page now would ask first (the page's `beforeunload` handler).
const LEAVING: &str = "(() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; })()";
/// What the two-people screenshots show.
const PROGRAM: &str = "def greet(name):\n    \"\"\"Say hello.\"\"\"\n    message = f\"Hello, {name}!\"\n    return message\n\n\nfor person in [\"Ada\", \"Bob\"]:\n    print(greet(person))\n";
const BACKSPACE: &str = "\u{E003}";
/// How soon a tree change made in one page shows in another: it comes on the project's events
/// socket, well under the 3 s the page once polled at.
const TREE_CHANGE: Duration = Duration::from_secs(1);

/// A registered user with the api's session answer (what the page keeps in localStorage).
pub(super) struct Person {
    pub(super) session: Value,
    pub(super) token: String,
    pub(super) id: i64,
}

/// Sends `request` with `person`'s token; the JSON answer (`null` for an empty one).
pub(super) async fn call(request: reqwest::RequestBuilder, person: &Person) -> Result<Value> {
    let answer = request
        .bearer_auth(&person.token)
        .send()
        .await?
        .error_for_status()?;
    let body = answer.bytes().await?;
    Ok(if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_type_into_one_file_and_end_with_the_same_text() -> Result<()> {
    with_two_browsers(["ide-ada", "ide-bob"], async |_, edge, ada, bob| {
        collaboration(edge, ada, bob).await
    })
    .await
}

async fn collaboration(edge: &Edge, a: &Browser, b: &Browser) -> Result<()> {
    let base = edge.base();
    let http = reqwest::Client::new();
    let course = seeded_course(&http, &base).await?;
    let ada = register(&http, &base, "ada", "Ada").await?;
    let bob = register(&http, &base, "bob", "Bob").await?;
    for person in [&ada, &bob] {
        enrol(&http, &base, person, course).await?;
    }

    // Ada starts her project from "Projects" and creates a file in a new folder.
    sign_in(a, &base, &ada, "#/projects").await?;
    a.click(&format!("#own-projects button[data-course-id='{course}']"))
        .await?;
    a.wait_for(
        "the project page",
        STEP,
        "return !!document.getElementById('ide')",
    )
    .await?;
    a.click("#new-file").await?;
    a.type_into("#create-path", "src/main.py").await?;
    a.click("#create-dialog-submit").await?;
    let (project, file) = wait_live_file(a, "main.py").await?;

    // She shares it with Bob (write), in the share dialog, by his username; he is one of the
    // course's participants it offers.
    a.click("#share").await?;
    let offered = a
        .execute(
            "return [...document.querySelectorAll('#share-people option')].map(o => `${o.value}=${o.textContent}`)",
            vec![],
        )
        .await?;
    check(
        offered
            .as_array()
            .is_some_and(|people| people.contains(&json!("bob=Bob"))),
        "Bob offered by name among the course's participants",
        &offered,
    )?;
    a.type_into("#share-user", "bob").await?;
    a.execute(
        "document.getElementById('share-access').value = 'write'",
        vec![],
    )
    .await?;
    a.click("#share-dialog-submit").await?;
    a.wait_for(
        "Bob in the member list, by name",
        STEP,
        &format!("const li = document.querySelector(\"#share-members li[data-user-id='{}'][data-access='write']\"); return !!li && li.querySelector('.member-name').textContent === 'Bob'", bob.id),
    )
    .await?;
    a.screenshot("share-dialog").await?;
    // A username nobody has is refused with a message naming it.
    a.type_into("#share-user", "nobody").await?;
    a.click("#share-dialog-submit").await?;
    a.wait_for(
        "the unknown username named",
        STEP,
        "return (document.querySelector('#share-dialog [role=alert]:not(:empty)') || {}).textContent",
    )
    .await
    .and_then(|shown| {
        check(
            shown.as_str().is_some_and(|t| t.contains("`nobody`")),
            "the refusal names the username",
            &shown,
        )
    })?;
    a.click("#share-dialog button[value=cancel]").await?;

    // Bob finds it under "Shared with you" and opens it: the same file opens.
    sign_in(b, &base, &bob, "#/projects").await?;
    let listed = b
        .wait_for("the shared project listed", STEP, &format!("const a = document.querySelector(\"#shared-projects a[href='#/projects/{project}']\"); return a && a.textContent"))
        .await?;
    check(
        listed == json!("Project of Ada"),
        "the project named after its owner",
        &listed,
    )?;
    b.click(&format!("#shared-projects a[href='#/projects/{project}']"))
        .await?;
    assert_eq!(wait_live_file(b, "main.py").await?, (project, file));

    // Both type at once: hundreds of keystrokes with newlines, deletions and multi-byte
    // characters, each in their own alphabet so that both are seen in the result.
    let (typed_a, typed_b) = tokio::join!(
        type_keys(a, keystrokes(KEYSTROKES, "adeéi字 ", 1)),
        type_keys(b, keystrokes(KEYSTROKES, "BßжKM→ ", 2)),
    );
    typed_a?;
    typed_b?;
    let text = converged(a, b, file).await?;
    for piece in ['é', '字', 'ß', 'ж', '→', '\n'] {
        check(
            text.contains(piece),
            &format!("the text holds {piece:?}"),
            &json!(text),
        )?;
    }
    eprintln!(
        "after concurrent typing: {} characters, {} lines",
        text.chars().count(),
        text.lines().count()
    );

    // A Node y-websocket client joined to the document holds the same, and so does Postgres.
    let node = NodeClient::join(edge, project, file, &ada.token)?;
    node.wait_text(&text)?;
    stored_text(&http, &base, &ada, project, file, &text).await?;

    // Ada's cursor shows in Bob's editor at her line and column, in her colour with her name;
    // Bob's selection in Ada's. (On a program rather than the typing above, for the picture.)
    a.execute(
        &format!("window.__ide.tabs.get({file}).session.cm.setValue(arguments[0])"),
        vec![json!(PROGRAM)],
    )
    .await?;
    converged(a, b, file).await?;
    a.execute(
        &format!("const cm = window.__ide.tabs.get({file}).session.cm; cm.focus(); cm.setCursor({{line: 3, ch: 8}});"),
        vec![],
    )
    .await?;
    b.wait_for(
        "Ada's caret at line 4, column 9 in Bob's editor",
        STEP,
        "const c = document.querySelector('.remote-caret[data-line=\"3\"][data-ch=\"8\"]');
         return !!c && c.textContent === 'Ada' && c.closest('.CodeMirror-line') !== null
             && document.getElementById('presence').textContent.includes('Ada')",
    )
    .await?;
    b.execute(
        &format!("const cm = window.__ide.tabs.get({file}).session.cm; cm.focus(); cm.setSelection({{line: 6, ch: 4}}, {{line: 6, ch: 25}})"),
        vec![],
    )
    .await?;
    a.wait_for(
        "Bob's selection and caret in Ada's editor",
        STEP,
        "const c = document.querySelector('.remote-caret[data-line=\"6\"][data-ch=\"25\"]');
         return !!c && c.textContent === 'Bob' && !!document.querySelector('.remote-selection')",
    )
    .await?;
    a.screenshot("two-users-ada").await?;
    b.screenshot("two-users-bob").await?;

    // Bob's project sockets are cut (the edge drops them and refuses him for a while); both
    // keep typing. Not his class presence socket, which carries the same token.
    let cut = [
        format!("/docs/{file}?"),
        format!("/projects/{project}/events?"),
    ]
    .iter()
    .map(|socket| {
        edge.cut(
            &format!("{socket}token={}", bob.token),
            Duration::from_secs(6),
        )
    })
    .sum::<usize>();
    check(
        cut == 2,
        "Bob's document and project events sockets were cut",
        &json!(cut),
    )?;
    b.wait_for(
        "Bob's page to notice",
        STEP,
        "return document.getElementById('file-state').dataset.state !== 'live'",
    )
    .await?;
    let (typed_a, typed_b) = tokio::join!(
        type_keys(a, keystrokes(60, "xyz ", 3)),
        type_keys(b, keystrokes(60, "QRΩ ", 4)),
    );
    typed_a?;
    typed_b?;
    let offline = b
        .execute(&format!("const s = window.__ide.tabs.get({file}).session; return {{state: s.state, pending: s.pending, shown: document.getElementById('file-pending').textContent, warns: {LEAVING}}}"), vec![])
        .await?;
    check(
        offline["state"] != "live"
            && offline["warns"] == true
            && offline["pending"].as_i64() > Some(0)
            && offline["shown"]
                .as_str()
                .unwrap_or("")
                .contains("not saved yet"),
        "Bob's page says his edits wait for the connection",
        &offline,
    )?;
    b.screenshot("offline").await?;
    let text = converged(a, b, file).await?;
    check(
        text.contains('Ω') && text.contains('Q'),
        "Bob's offline edits arrived",
        &json!(text),
    )?;
    let warns = b.execute(&format!("return {LEAVING}"), vec![]).await?;
    check(
        warns == false,
        "leaving warns no more once everything is saved",
        &warns,
    )?;
    node.wait_text(&text)?;
    stored_text(&http, &base, &ada, project, file, &text).await?;
    node.quit();

    // A rename in Ada's tree reaches Bob's tree and tab, once his page follows the project
    // again after the cut (its events socket came back with the same backoff).
    b.wait_for(
        "Bob's page following the project again",
        STEP,
        "return window.__ide.events.following",
    )
    .await?;
    a.click(&format!("#file-tree [data-file-id='{file}']"))
        .await?;
    // By keyboard: F2 on the focused row.
    a.type_into(&format!("#file-tree [data-file-id='{file}']"), "\u{E032}")
        .await?;
    a.execute("document.getElementById('rename-path').value = ''", vec![])
        .await?;
    a.type_into("#rename-path", "src/app.py").await?;
    a.click("#rename-dialog-submit").await?;
    b.wait_for(
        "the rename in Bob's page",
        TREE_CHANGE,
        &format!("return !!document.querySelector(\"#file-tree [data-path='src/app.py']\") && document.getElementById('tab-{file}').textContent === 'app.py'"),
    )
    .await?;

    // A file Ada creates shows for Bob; when she deletes it, his tab of it closes.
    a.click("#new-file").await?;
    a.execute("document.getElementById('create-path').value = ''", vec![])
        .await?;
    a.type_into("#create-path", "notes.txt").await?;
    a.click("#create-dialog-submit").await?;
    let notes = b
        .wait_for("notes.txt in Bob's tree", TREE_CHANGE, "const r = document.querySelector(\"#file-tree [data-path='notes.txt']\"); return r && Number(r.dataset.fileId)")
        .await?
        .as_i64()
        .context("file id")?;
    b.click(&format!("#file-tree [data-file-id='{notes}']"))
        .await?;
    b.wait_for(
        "Bob's tab of notes.txt",
        STEP,
        &format!(
            "const t = window.__ide.tabs.get({notes}); return !!t && t.session.state === 'live'"
        ),
    )
    .await?;
    a.click(&format!("#file-tree [data-file-id='{notes}']"))
        .await?;
    a.screenshot("tree").await?;
    // By keyboard: Delete on the focused row.
    a.type_into(&format!("#file-tree [data-file-id='{notes}']"), "\u{E017}")
        .await?;
    a.wait_for(
        "the confirmation",
        STEP,
        "return !!document.getElementById('delete-dialog')",
    )
    .await?;
    a.click("#delete-dialog-submit").await?;
    b.wait_for(
        "the deletion in Bob's page",
        TREE_CHANGE,
        &format!("return !window.__ide.tabs.has({notes}) && !document.querySelector(\"#file-tree [data-path='notes.txt']\")"),
    )
    .await?;
    b.screenshot("after-delete").await?;

    for browser in [a, b] {
        let errors = browser.script_errors().await?;
        if !errors.is_empty() {
            bail!("{} logged errors:\n{}", browser.name, errors.join("\n"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_uploads_a_template_and_watches_a_student_type_read_only() -> Result<()> {
    with_two_browsers(
        ["ide-teacher", "ide-student"],
        async |stack, edge, teacher, student| classroom(stack, edge, teacher, student).await,
    )
    .await
}

async fn classroom(stack: &Stack, edge: &Edge, t: &Browser, s: &Browser) -> Result<()> {
    let base = edge.base();
    let http = reqwest::Client::new();
    let course = seeded_course(&http, &base).await?;
    let tess = register(&http, &base, "tess", "Tess").await?;
    let sam = register(&http, &base, "sam", "Sam").await?;
    make_teacher(stack, &tess, course).await?;
    enrol(&http, &base, &sam, course).await?;

    // The teacher's page of the course's projects: a file that is no archive is refused with
    // the hub's words; a tar.gz becomes the template.
    let dir = tempdir()?;
    std::fs::write(dir.join("notes.txt"), "not an archive")?;
    std::fs::create_dir_all(dir.join("t/lib"))?;
    std::fs::write(
        dir.join("t/main.py"),
        "from lib.util import greet\n\nprint(greet('world'))\n",
    )?;
    std::fs::write(
        dir.join("t/lib/util.py"),
        "def greet(name):\n    return f'Hello, {name}!'\n",
    )?;
    std::fs::write(dir.join("t/README.md"), "# Greeter\n")?;
    let status = std::process::Command::new("tar")
        .args([
            "czf",
            "template.tar.gz",
            "-C",
            "t",
            "main.py",
            "lib",
            "README.md",
        ])
        .current_dir(&dir)
        .status()?;
    check(status.success(), "tar made the template", &json!(null))?;

    sign_in(t, &base, &tess, &format!("#/courses/{course}/projects")).await?;
    t.wait_for(
        "the template form",
        STEP,
        "return !!document.getElementById('template-form')",
    )
    .await?;
    t.type_into(
        "#template-file",
        &dir.join("notes.txt").display().to_string(),
    )
    .await?;
    t.click("#template-form button[type=submit]").await?;
    t.wait_for("the hub's refusal", STEP, "return document.getElementById('template-error').textContent.toLowerCase().includes('zip')").await?;
    t.execute(
        "document.getElementById('template-file').value = ''",
        vec![],
    )
    .await?;
    t.type_into(
        "#template-file",
        &dir.join("template.tar.gz").display().to_string(),
    )
    .await?;
    t.click("#template-form button[type=submit]").await?;
    t.wait_for(
        "the template's files",
        STEP,
        "const items = [...document.querySelectorAll('#template-files li')].map(li => li.textContent);
         return items.includes('lib/util.py') && items.includes('main.py') && items.includes('lib/')",
    )
    .await?;
    t.screenshot("template").await?;

    // The student's project starts from it.
    sign_in(s, &base, &sam, "#/projects").await?;
    s.click(&format!("#own-projects button[data-course-id='{course}']"))
        .await?;
    let (project, file) = wait_live_file(s, "README.md").await?;
    s.click("#file-tree [data-path='main.py']").await?;
    let main_file = s
        .wait_for("main.py open", STEP, "const r = document.querySelector(\"#file-tree [data-path='main.py']\"); const t = r && window.__ide.tabs.get(Number(r.dataset.fileId)); return t && t.session.state === 'live' && t.session.text.toString().includes('greet') ? Number(r.dataset.fileId) : null")
        .await?
        .as_i64()
        .context("file id")?;
    check(main_file != file, "two tabs", &json!(null))?;

    // The teacher opens it from the course page, read-only, and watches the student type.
    t.refresh().await?;
    t.click(&format!("#student-projects a[data-project-id='{project}']"))
        .await?;
    t.wait_for("the read-only project", STEP, "const ide = document.getElementById('ide'); return !!ide && ide.dataset.access === 'read' && !document.getElementById('access-badge').hidden").await?;
    t.click("#file-tree [data-path='main.py']").await?;
    t.wait_for("main.py live and read-only", STEP, &format!("const t = window.__ide.tabs.get({main_file}); return t && t.session.state === 'live' && t.session.cm.getOption('readOnly') === true")).await?;
    s.execute(&format!("const cm = window.__ide.tabs.get({main_file}).session.cm; cm.focus(); cm.setCursor({{line: 2, ch: 0}});"), vec![]).await?;
    type_keys(
        s,
        vec!["# watched by the teacher".to_owned(), ENTER.to_owned()],
    )
    .await?;
    t.wait_for(
        "the student's typing in the teacher's editor, with the student's caret",
        STEP,
        &format!("const t = window.__ide.tabs.get({main_file}); return t.session.cm.getValue().includes('# watched by the teacher') && !!document.querySelector('.remote-caret')"),
    )
    .await?;
    t.screenshot("teacher-watch").await?;
    // A reader's session stays as it is (it sends nothing the hub would refuse).
    t.execute(
        &format!("window.__ide.tabs.get({main_file}).session.marked = true"),
        vec![],
    )
    .await?;

    // Typing in the read-only editor changes nothing, here or on the server. (Chromium may
    // refuse to type into it at all: that is the same outcome.)
    let before = t
        .execute(
            &format!("return window.__ide.tabs.get({main_file}).session.text.toString()"),
            vec![],
        )
        .await?;
    let editor = t.find(".CodeMirror-code").await?;
    let _ = editor.click().await;
    let _ = editor.send_keys("TEACHER").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = t
        .execute(
            &format!("return window.__ide.tabs.get({main_file}).session.text.toString()"),
            vec![],
        )
        .await?;
    check(
        before == after,
        "the read-only editor took no typing",
        &json!([before, after]),
    )?;
    let student_text = s
        .wait_for("the student's page settled", STEP, &format!("const t = window.__ide.tabs.get({main_file}).session; return t.pending === 0 ? t.text.toString() : null"))
        .await?;
    check(
        !student_text.as_str().unwrap_or("").contains("TEACHER"),
        "nothing of the teacher's typing reached the student",
        &student_text,
    )?;

    // The student downloads the project: a zip with the template's files and what they typed
    // (entries are stored uncompressed, so names and text are in its bytes).
    s.execute(
        "window.__zip = null; const make = URL.createObjectURL;
         URL.createObjectURL = (blob) => { window.__zip = blob; return make(blob); };",
        vec![],
    )
    .await?;
    s.click("#download").await?;
    s.wait_for("the zip", STEP, "return !!window.__zip").await?;
    let zip = s
        .execute(
            "return window.__zip.arrayBuffer().then((b) => {
                 const bytes = new Uint8Array(b);
                 return {magic: String.fromCharCode(bytes[0], bytes[1]), text: new TextDecoder().decode(bytes)};
             })",
            vec![],
        )
        .await?;
    let bytes = zip["text"].as_str().unwrap_or_default();
    check(
        zip["magic"] == "PK"
            && [
                "lib/",
                "lib/util.py",
                "main.py",
                "README.md",
                "# watched by the teacher",
                "def greet(name):",
            ]
            .iter()
            .all(|piece| bytes.contains(piece)),
        "the zip holds the project as the editor has it",
        &zip["magic"],
    )?;

    for browser in [t, s] {
        let errors = browser.script_errors().await?;
        if !errors.is_empty() {
            bail!("{} logged errors:\n{}", browser.name, errors.join("\n"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_write_access_away_turns_the_other_editor_read_only_within_a_second() -> Result<()> {
    with_two_browsers(["ide-owner", "ide-member"], async |_, edge, a, b| {
        revocation(edge, a, b).await
    })
    .await
}

async fn revocation(edge: &Edge, a: &Browser, b: &Browser) -> Result<()> {
    let base = edge.base();
    let http = reqwest::Client::new();
    let course = seeded_course(&http, &base).await?;
    let owner = register(&http, &base, "olga", "Olga").await?;
    let member = register(&http, &base, "max", "Max").await?;
    for person in [&owner, &member] {
        enrol(&http, &base, person, course).await?;
    }
    let detail = call(
        http.post(format!("{base}/hub/courses/{course}/project")),
        &owner,
    )
    .await?;
    let project = detail["project"]["id"].as_i64().context("project id")?;
    call(
        http.post(format!("{base}/hub/projects/{project}/files"))
            .json(&json!({"path": "main.py"})),
        &owner,
    )
    .await?;
    call(
        http.put(format!(
            "{base}/hub/projects/{project}/members/{}",
            member.id
        ))
        .json(&json!({"access": "write"})),
        &owner,
    )
    .await?;

    sign_in(a, &base, &owner, &format!("#/projects/{project}")).await?;
    let (_, file) = wait_live_file(a, "main.py").await?;
    sign_in(b, &base, &member, &format!("#/projects/{project}")).await?;
    wait_live_file(b, "main.py").await?;
    type_keys(b, vec!["before".to_owned()]).await?;
    converged(a, b, file).await?;

    // The owner lowers Max to read in the share dialog; Max goes on typing.
    a.click("#share").await?;
    a.type_into("#share-user", "max").await?;
    a.execute(
        "document.getElementById('share-access').value = 'write'",
        vec![],
    )
    .await?;
    a.click("#share-dialog-submit").await?;
    a.wait_for(
        "Max listed",
        STEP,
        &format!(
            "return !!document.querySelector(\"#share-members li[data-user-id='{}']\")",
            member.id
        ),
    )
    .await?;
    a.execute(&format!("const s = document.querySelector(\"#share-members select[data-user-id='{}']\"); s.value = 'read'; s.dispatchEvent(new Event('change'));", member.id), vec![]).await?;
    a.wait_for("the change", STEP, &format!("return !!document.querySelector(\"#share-members li[data-user-id='{}'][data-access='read']\")", member.id)).await?;
    let lowered = Instant::now();
    type_keys(b, vec!["AFTER".to_owned()]).await?;
    b.wait_for(
        "Max's editor read-only (or the project closed) within a second",
        Duration::from_secs(1).saturating_sub(lowered.elapsed()),
        &format!("const t = window.__ide && window.__ide.tabs.get({file}); return !!document.getElementById('project-closed') || (!!t && t.session.cm.getOption('readOnly') === true)"),
    )
    .await?;
    let text = a
        .wait_for("the owner's page settled", STEP, &format!("const t = window.__ide.tabs.get({file}).session; return t.pending === 0 ? t.text.toString() : null"))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = a
        .execute(
            &format!("return window.__ide.tabs.get({file}).session.text.toString()"),
            vec![],
        )
        .await
        .unwrap_or(text);
    check(
        !text
            .as_str()
            .unwrap_or("")
            .chars()
            .any(|c| c.is_ascii_uppercase()),
        "Max's typing after the change never reached the owner",
        &text,
    )?;
    stored_text(
        &http,
        &base,
        &owner,
        project,
        file,
        text.as_str().unwrap_or(""),
    )
    .await?;
    Ok(())
}

// ----- people and pages -----

pub(super) async fn seeded_course(http: &reqwest::Client, base: &str) -> Result<i64> {
    let guest: Value = http
        .post(format!("{base}/api/auth/guest"))
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let courses: Value = http
        .get(format!("{base}/api/courses"))
        .bearer_auth(guest["token"].as_str().unwrap_or(""))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    courses
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["title"] == "Python basics")
        .and_then(|c| c["id"].as_i64())
        .context("the seeded course")
}

pub(super) async fn register(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    name: &str,
) -> Result<Person> {
    let session = testkit::browser::register(http, base, username, name).await?;
    Ok(Person {
        token: session["token"].as_str().context("a token")?.to_owned(),
        id: session["user"]["id"].as_i64().context("a user id")?,
        session,
    })
}

pub(super) async fn enrol(
    http: &reqwest::Client,
    base: &str,
    person: &Person,
    course: i64,
) -> Result<()> {
    call(
        http.post(format!("{base}/api/courses/{course}/enrol")),
        person,
    )
    .await?;
    Ok(())
}

/// Makes `person` a teacher of `course` in the database (how an operator would).
pub(super) async fn make_teacher(stack: &Stack, person: &Person, course: i64) -> Result<()> {
    let mut conn = stack.scratch.database().pool().get().await?;
    diesel::sql_query(format!(
        "INSERT INTO participants (course_id, user_id, role) VALUES ({course}, {}, 'teacher')
         ON CONFLICT (course_id, user_id) DO UPDATE SET role = 'teacher'",
        person.id
    ))
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Signs `person` in to the page and opens `hash`.
pub(super) async fn sign_in(
    browser: &Browser,
    base: &str,
    person: &Person,
    hash: &str,
) -> Result<()> {
    browser.sign_in(base, &person.session, hash).await
}

/// Waits for the project page's active tab to be `name`, live; returns (project, file).
pub(super) async fn wait_live_file(browser: &Browser, name: &str) -> Result<(i64, i64)> {
    let found = browser
        .wait_for(
            &format!("{name} open and live"),
            STEP,
            &format!(
                "const ide = window.__ide; const t = ide && ide.tabs.get(ide.active);
                 return t && t.session.state === 'live' && t.session.file.path.endsWith({})
                     ? [ide.project.id, ide.active] : null",
                json!(name)
            ),
        )
        .await?;
    Ok((
        found[0].as_i64().context("project")?,
        found[1].as_i64().context("file")?,
    ))
}

/// Types `bursts` into the focused editor, one WebDriver call each.
async fn type_keys(browser: &Browser, bursts: Vec<String>) -> Result<()> {
    let editor = browser
        .find(".editor-panel:not([hidden]) .CodeMirror-code")
        .await?;
    for burst in bursts {
        editor.send_keys(&burst).await?;
    }
    Ok(())
}

/// `count` keystrokes from `alphabet`, with Enter and Backspace among them, in bursts.
fn keystrokes(count: usize, alphabet: &str, seed: u64) -> Vec<String> {
    let letters: Vec<char> = alphabet.chars().collect();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let roll = (state >> 33) % 100;
        keys.push(match roll {
            0..=6 => ENTER.to_owned(),
            7..=12 => BACKSPACE.to_owned(),
            _ => letters[(state >> 40) as usize % letters.len()].to_string(),
        });
    }
    keys.chunks(BURST).map(|c| c.concat()).collect()
}

/// Waits until both pages hold the same text with nothing unacknowledged and each editor
/// showing its document's text; returns the text.
async fn converged(a: &Browser, b: &Browser, file: i64) -> Result<String> {
    let probe = format!(
        "const t = window.__ide && window.__ide.tabs.get({file}); if (!t) return null;
         const s = t.session;
         return s.state === 'live' && s.pending === 0 && s.cm.getValue() === s.text.toString() ? s.text.toString() : null"
    );
    until("both pages to hold the same text", STEP, || async {
        let x = a.execute(&probe, vec![]).await?;
        let y = b.execute(&probe, vec![]).await?;
        Ok((x.is_string() && x == y).then(|| x.as_str().unwrap_or_default().to_owned()))
    })
    .await
}

/// Waits until the hub's stored copy (Postgres, after its sync) is `text`.
async fn stored_text(
    http: &reqwest::Client,
    base: &str,
    person: &Person,
    project: i64,
    file: i64,
    text: &str,
) -> Result<()> {
    let url = format!("{base}/hub/projects/{project}/files/{file}");
    until("Postgres to hold the text", STEP, || async {
        let stored = call(http.get(&url), person).await?;
        Ok((stored["content"] == text).then_some(()))
    })
    .await
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ide-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Debian's y-websocket provider under Node (the hub's test client), joined to one document.
pub(super) struct NodeClient {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
}

impl NodeClient {
    pub(super) fn join(edge: &Edge, project: i64, file: i64, token: &str) -> Result<Self> {
        let script = std::env::var("YJS_NODE_CLIENT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join("crates/hub/tests/clients/yjs_client.js"));
        let mut child =
            std::process::Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
                .arg(script)
                .args([
                    "--url",
                    &format!("ws://127.0.0.1:{}/hub/projects/{project}/docs", edge.port),
                ])
                .args([
                    "--room",
                    &file.to_string(),
                    "--token",
                    token,
                    "--name",
                    "node",
                ])
                .env(
                    "NODE_PATH",
                    std::env::var("NODE_PATH").unwrap_or_else(|_| "/usr/share/nodejs".into()),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .context("start the Node client")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    if send.send(value).is_err() {
                        break;
                    }
                }
            }
        });
        let client = Self { child, lines };
        client.expect("synced", |_| true)?;
        Ok(client)
    }

    fn expect(&self, event: &str, accept: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .with_context(|| format!("the Node client's {event}"))?;
            if line["event"] == event && accept(&line) {
                return Ok(line);
            }
            if line["event"] == "timeout" || line["event"] == "error" {
                bail!("the Node client: {line}");
            }
        }
    }

    pub(super) fn wait_text(&self, text: &str) -> Result<()> {
        self.send(
            json!({"cmd": "wait_text", "equals": text, "timeout_ms": STEP.as_millis() as u64}),
        )?;
        self.expect("text", |line| line["text"] == text)?;
        Ok(())
    }

    /// Sends one command of the client's line protocol (`insert`, `delete`, …).
    pub(super) fn send(&self, command: Value) -> Result<()> {
        let mut stdin = self.child.stdin.as_ref().context("stdin")?;
        writeln!(stdin, "{command}")?;
        Ok(())
    }

    pub(super) fn quit(mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = writeln!(stdin, "{}", json!({"cmd": "quit"}));
        }
        let _ = self.child.wait();
    }
}

impl Drop for NodeClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
