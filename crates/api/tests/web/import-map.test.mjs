// index.html's import map against web/vendor (deploy/web/vendor.sh): every module the IDE
// imports, and everything those import, resolves to a file that is there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../web");

test("every import of the IDE's modules resolves through the import map", () => {
  const html = readFileSync(join(web, "index.html"), "utf8");
  const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)[1]).imports;
  const resolveBare = (specifier) => {
    if (map[specifier]) return join(web, map[specifier]);
    const prefix = Object.keys(map).find((k) => k.endsWith("/") && specifier.startsWith(k));
    assert.ok(prefix, `the import map has no entry for "${specifier}"`);
    return join(web, map[prefix] + specifier.slice(prefix.length));
  };
  const ide = join(web, "js/ide");
  const queue = readdirSync(ide).filter((f) => f.endsWith(".js")).map((f) => join(ide, f));
  const seen = new Set();
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `${file} is missing (run deploy/web/vendor.sh)`);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|^import\s*["']([^"']+)["']/gm)) {
      const specifier = m[1] ?? m[2];
      queue.push(specifier.startsWith(".") ? resolve(dirname(file), specifier) : resolveBare(specifier));
    }
  }
  assert.ok([...seen].some((f) => f.endsWith("vendor/yjs/yjs.js")));
  assert.ok([...seen].some((f) => f.endsWith("vendor/isomorphic.js/browser.js")));
});
