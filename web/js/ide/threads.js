// Pure logic of questions pinned to code: which lines a selection covers, where each thread's
// marker goes in the gutter now, the project's open questions, a teacher's inbox and the link
// that opens a thread's file at its line. A thread is what the hub answers
// (`GET /hub/threads/{id}`); `locate(thread)` is the page's own idea of the line the thread
// starts on now (from its Yjs relative positions), `null` when its text is gone.

/** The 1-based lines that `from..to` of `text` covers (a range ending with a line break ends on the line it closes). */
export function linesOf(text, from, to) {
  const start = Math.max(0, Math.min(from, to));
  const end = Math.min(text.length, Math.max(from, to));
  const lineAt = (index) => text.slice(0, index).split("\n").length;
  if (start === end) return { start: lineAt(start), end: lineAt(start) };
  return { start: lineAt(start), end: lineAt(end - 1) };
}

/** The range to ask about: a selection, or the whole line of a bare cursor; `null` in an empty text. */
export function askedRange(text, from, to) {
  if (from !== to) return { from: Math.min(from, to), to: Math.max(from, to) };
  const lineStart = text.lastIndexOf("\n", from - 1) + 1;
  const next = text.indexOf("\n", from);
  const lineEnd = next === -1 ? text.length : next;
  return lineEnd > lineStart ? { from: lineStart, to: lineEnd } : null;
}

/**
 * Gutter markers: a Map from a 1-based line to the threads that start there, open ones first.
 * Outdated threads (no line) have no marker: the list shows them with their quote.
 */
export function markersByLine(threads, locate) {
  const marks = new Map();
  for (const thread of threads) {
    const line = locate(thread);
    if (line == null) continue;
    if (!marks.has(line)) marks.set(line, []);
    marks.get(line).push(thread);
  }
  for (const list of marks.values()) list.sort((a, b) => Number(a.resolved) - Number(b.resolved) || a.id - b.id);
  return marks;
}

/** A marker's label, for its title and screen readers. */
export function markerLabel(list) {
  const open = list.filter((t) => !t.resolved).length;
  const parts = [];
  if (open) parts.push(`${open} open question${open === 1 ? "" : "s"}`);
  if (list.length - open) parts.push(`${list.length - open} resolved`);
  return parts.join(", ");
}

/** The project's open questions: not resolved, by file path and then by line, outdated last. */
export function openQuestions(threads) {
  return threads
    .filter((t) => !t.resolved)
    .sort((a, b) => a.path.localeCompare(b.path) || lineKey(a) - lineKey(b) || a.id - b.id);
}

/** A teacher's inbox: open threads, newest first. */
export function inboxOrder(threads) {
  return threads
    .filter((t) => !t.resolved)
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
}

/** Where a thread is, in words: "main.py, lines 3–4", or where it was once its text is gone. */
export function whereText(thread) {
  if (thread.outdated || !thread.lines) return `${thread.path}, outdated (was line ${thread.quote.line})`;
  const { start, end } = thread.lines;
  return start === end ? `${thread.path}, line ${start}` : `${thread.path}, lines ${start}–${end}`;
}

/** The page that shows a thread: its project with the file open at its line. */
export function threadHref(thread) {
  const line = thread.lines ? thread.lines.start : thread.quote.line;
  return `#/projects/${thread.project_id}?file=${thread.file_id}&line=${line}&thread=${thread.id}`;
}

/** What someone may do with a thread and its comments, as the hub decides it too. */
export function permissions(thread, me, { owner = false, teacher = false } = {}) {
  const moderates = thread.author.id === me || owner || teacher;
  return {
    resolve: moderates,
    edit: (comment) => comment.author.id === me,
    remove: (comment) => comment.author.id === me || teacher,
  };
}

/** The first line of the question, for lists. */
export function summary(thread, max = 80) {
  const first = (thread.comments[0]?.body ?? "").split("\n")[0].trim();
  return first.length > max ? `${first.slice(0, max - 1)}…` : first || "(question removed)";
}

function lineKey(thread) {
  return thread.lines ? thread.lines.start : Number.MAX_SAFE_INTEGER;
}
