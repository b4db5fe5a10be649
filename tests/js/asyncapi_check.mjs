// Parses an AsyncAPI document with the reference parser (npm @asyncapi/parser) and prints
// its diagnostics as JSON: tests/test_asyncapi.py runs it on what the server serves.
//   node tests/js/asyncapi_check.mjs <parser module dir> <document.json>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [modules, file] = process.argv.slice(2);
const require = createRequire(join(resolve(modules), "noop.js"));
const { Parser } = require("@asyncapi/parser");
const { document, diagnostics } = await new Parser().parse(readFileSync(file, "utf8"));
const out = {
  valid: document !== undefined,
  version: document?.version(),
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  messages: document ? document.allMessages().all().map((m) => m.name()) : [],
  diagnostics: diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path })),
};
console.log(JSON.stringify(out));
