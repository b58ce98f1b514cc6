// The project as a zip, made in the page: open files as the editor has them (edits not yet
// synced included), the others as the hub last synced them.

import * as api from "../api.js";
import { makeZip } from "./zip.js";

/** Downloads `files` (the tree) of `projectId`; `liveText(fileId)` is an open file's text. */
export async function downloadZip(projectId, files, liveText) {
  const entries = [];
  for (const entry of files) {
    if (entry.directory) {
      entries.push({ path: entry.path, directory: true });
      continue;
    }
    const text = liveText(entry.id) ?? (await api.hub.readFile(projectId, entry.id)).content;
    entries.push({ path: entry.path, text });
  }
  const blob = new Blob([makeZip(entries)], { type: "application/zip" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `project-${projectId}.zip`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
