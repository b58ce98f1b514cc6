// "Questions": a teacher's inbox, the open questions of every course they teach, newest
// first; each opens the student's project with the file at the question's line. Read again
// every few seconds while the page is visible.

import * as api from "../api.js";
import { h, replace, relativeTime } from "../dom.js";
import { inboxOrder, summary, threadHref, whereText } from "../ide/threads.js";

const POLL_MS = 5_000;

export async function render(main, _params, ctx) {
  const list = h("ol", { class: "inbox", id: "inbox" });
  replace(
    main,
    h("h1", { tabindex: "-1" }, "Questions"),
    h("p", { class: "hint" }, "Open questions from the courses you teach, newest first."),
    list,
  );
  const show = async () => {
    const { threads } = await api.hub.inbox();
    if (!ctx.active()) return;
    const open = inboxOrder(threads);
    replace(
      list,
      open.length
        ? open.map((t) =>
            h(
              "li",
              { class: "card inbox-item", dataset: { threadId: String(t.id) } },
              h("a", { href: threadHref(t), class: "inbox-link" }, summary(t)),
              h("p", { class: "hint" }, `${t.author.name} · ${whereText(t)} · `, h("time", { datetime: t.created_at }, relativeTime(t.created_at)),
                ` · ${t.comments.length - 1} repl${t.comments.length === 2 ? "y" : "ies"}`),
              h("pre", { class: "thread-quote" }, t.quote.text),
            ),
          )
        : h("li", { class: "hint" }, "No open questions."),
    );
  };
  await show();
  const poll = setInterval(() => document.visibilityState === "visible" && show().catch(() => {}), POLL_MS);
  return () => clearInterval(poll);
}
