// web/js/ide/zip.js: the archive Python's zipfile (an independent reader) reads back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, makeZip } from "../../../../web/js/ide/zip.js";

test("crc32 of a known string", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("python's zipfile reads every entry back", () => {
  const entries = [
    { path: "src", directory: true },
    { path: "src/main.py", text: "print('héllo 😀')\n" },
    { path: "README.md", text: "" },
    { path: "dößier/字.txt", text: "x\n".repeat(1000) },
  ];
  const file = join(mkdtempSync(join(tmpdir(), "zip-test-")), "p.zip");
  writeFileSync(file, makeZip(entries, new Date(2024, 4, 6, 7, 8, 10)));
  const script = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: [z.read(i).decode(), list(i.date_time)] for i in z.infolist()}))`;
  const read = JSON.parse(execFileSync("python3", ["-c", script, file]).toString());
  assert.deepEqual(Object.keys(read), ["src/", "src/main.py", "README.md", "dößier/字.txt"]);
  assert.equal(read["src/main.py"][0], "print('héllo 😀')\n");
  assert.equal(read["dößier/字.txt"][0], "x\n".repeat(1000));
  assert.deepEqual(read["README.md"][1], [2024, 5, 6, 7, 8, 10]);
});
