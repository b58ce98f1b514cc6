// The api and the hub over HTTP: every call the UI makes, with the bearer token, a timeout,
// and the services' errors (`{"error": {"code", "message", "field"}}`) turned into `ApiError`s whose message a
// person can read. A 401 on an authenticated call ends the session (see `onUnauthorized`).

import * as session from "./session.js";

const TIMEOUT_MS = 20_000;
let unauthorized = () => {};

/** An api call that failed: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Called with the ApiError when the api rejects the session's token. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

async function call(method, path, { body, bytes, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (bytes !== undefined) headers["Content-Type"] = "application/octet-stream";
  if (auth) {
    const token = session.token();
    if (!token) {
      const error = new ApiError(401, "missing_token", "Please sign in again.");
      unauthorized(error);
      throw error;
    }
    headers.Authorization = `Bearer ${token}`;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: bytes ?? (body === undefined ? undefined : JSON.stringify(body)),
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (e) {
    const timedOut = e.name === "AbortError";
    throw new ApiError(
      0,
      timedOut ? "timeout" : "network",
      timedOut
        ? "The server took too long to answer. Please try again."
        : "Cannot reach the server. Check your connection and try again.",
    );
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: a proxy's error page, say; described by the status below.
  }
  if (response.ok) return data;
  const error = toError(response, data);
  if (response.status === 401 && auth) unauthorized(error);
  throw error;
}

function toError(response, data) {
  const detail = data && data.error;
  const status = response.status;
  const code = detail?.code ?? `http_${status}`;
  let message = detail?.message ? sentence(detail.message) : fallbackMessage(status);
  if (status === 413) message = `Too large: ${message.charAt(0).toLowerCase()}${message.slice(1)}`;
  if (status === 503) {
    const retry = Number(response.headers.get("Retry-After"));
    if (code !== "queue_full") message = `The service is busy or down for a moment. ${message}`;
    if (retry > 0 && !/try again/i.test(message)) message += ` Try again in ${retry} s.`;
  }
  if (status >= 500 && status !== 503 && !detail) message = fallbackMessage(status);
  return new ApiError(status, code, message, detail?.field ?? null);
}

function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function fallbackMessage(status) {
  if (status === 404) return "Not found.";
  if (status === 413) return "The request is too large.";
  if (status >= 500) return `The server failed (HTTP ${status}). Please try again in a moment.`;
  return `The request failed (HTTP ${status}).`;
}

const get = (path) => call("GET", path);

export const config = () => call("GET", "/api/config", { auth: false });

export const signInAsGuest = (displayName) =>
  call("POST", "/api/auth/guest", { auth: false, body: displayName ? { display_name: displayName } : {} });
export const signIn = (username, password) =>
  call("POST", "/api/auth/login", { auth: false, body: { username, password } });
export const register = (username, password, displayName) =>
  call("POST", "/api/auth/register", {
    auth: false,
    body: displayName ? { username, password, display_name: displayName } : { username, password },
  });
export const refresh = () => call("POST", "/api/auth/refresh");
/** Revokes the session's tokens everywhere (the api, the relay and the hub refuse them). */
export const signOut = () => call("POST", "/api/auth/logout");

export const courses = () => get("/api/courses");
export const courseAssignments = (courseId) => get(`/api/courses/${courseId}/assignments`);
/** A course's students with their progress per assignment (its teachers only). */
export const roster = (courseId) => get(`/api/courses/${courseId}/roster`);
export const submission = (id) => get(`/api/submissions/${id}`);
export const assignment = (id) => get(`/api/assignments/${id}`);
export const submissions = (assignmentId) => get(`/api/assignments/${assignmentId}/submissions`);
export const submit = (assignmentId, code) =>
  call("POST", `/api/assignments/${assignmentId}/submissions`, { body: { code } });
export const deleteSubmission = (id) => call("DELETE", `/api/submissions/${id}`);

// Authoring (a course's teachers).
export const publishCourse = (courseId, published) => call("PATCH", `/api/courses/${courseId}`, { body: { published } });
export const createAssignment = (courseId, body) => call("POST", `/api/courses/${courseId}/assignments`, { body });
export const updateAssignment = (id, body) => call("PUT", `/api/assignments/${id}`, { body });
export const deleteAssignment = (id) => call("DELETE", `/api/assignments/${id}`);
export const reorderAssignments = (courseId, ids) =>
  call("PUT", `/api/courses/${courseId}/assignment-order`, { body: { assignments: ids } });
export const handoutPreview = (handout) => call("POST", "/api/handout-preview", { body: { handout } });
export const tryReference = (courseId, body) => call("POST", `/api/courses/${courseId}/trials`, { body });
export const trial = (id) => get(`/api/trials/${id}`);
/** The runtimes assignments may use: the api's document lists exactly those it offers. */
export const runtimes = async () =>
  (await call("GET", "/api/openapi.json", { auth: false })).components.schemas.AssignmentRequest.properties.runtime.enum;

// The hub: templates, projects, files and members (same origin, under /hub).
export const hub = {
  template: (courseId) => get(`/hub/courses/${courseId}/template`),
  uploadTemplate: (courseId, file) => call("PUT", `/hub/courses/${courseId}/template`, { bytes: file }),
  openProject: (courseId) => call("POST", `/hub/courses/${courseId}/project`),
  projects: () => get("/hub/projects"),
  project: (projectId) => get(`/hub/projects/${projectId}`),
  createFile: (projectId, path, directory) =>
    call("POST", `/hub/projects/${projectId}/files`, { body: { path, directory } }),
  readFile: (projectId, fileId) => get(`/hub/projects/${projectId}/files/${fileId}`),
  moveFile: (projectId, fileId, path) => call("PATCH", `/hub/projects/${projectId}/files/${fileId}`, { body: { path } }),
  deleteFile: (projectId, fileId) => call("DELETE", `/hub/projects/${projectId}/files/${fileId}`),
  grant: (projectId, userId, access) =>
    call("PUT", `/hub/projects/${projectId}/members/${userId}`, { body: { access } }),
  share: (projectId, username, access) =>
    call("POST", `/hub/projects/${projectId}/members`, { body: { username, access } }),
  revoke: (projectId, userId) => call("DELETE", `/hub/projects/${projectId}/members/${userId}`),
  // Questions pinned to code.
  threads: (projectId) => get(`/hub/projects/${projectId}/threads`),
  ask: (projectId, body) => call("POST", `/hub/projects/${projectId}/threads`, { body }),
  updateThread: (threadId, body) => call("PATCH", `/hub/threads/${threadId}`, { body }),
  reply: (threadId, body) => call("POST", `/hub/threads/${threadId}/comments`, { body: { body } }),
  editComment: (commentId, body) => call("PATCH", `/hub/comments/${commentId}`, { body: { body } }),
  deleteComment: (commentId) => call("DELETE", `/hub/comments/${commentId}`),
  inbox: () => get("/hub/inbox"),
};
