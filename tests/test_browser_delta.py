"""client/web/delta.js and the vendored msgpack against tests/vectors/deltas.json and
by_hand.json (written from docs/protocol.md's rules), in Chromium.

A throwaway static server on 127.0.0.1 serves client/web at / and tests/vectors at
/vectors/; the page imports delta.js and vendor/msgpack.mjs and, for every case,
checks applyDelta(before, ops) against after (without touching before), decodes
msgpack_hex into the message and encodes it back with sorted keys to the same bytes.
Python only reads the results. Debian's chromium is driven through Playwright; the
test never downloads a browser.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "client" / "web"
VECTORS = ROOT / "tests" / "vectors"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


class _Handler(SimpleHTTPRequestHandler):
    """client/web at /, tests/vectors at /vectors/, a blank page at /blank.html."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
    }

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/vectors/"):
            return str(VECTORS / Path(path[len("/vectors/") :]).name)
        return super().translate_path(path)

    def do_GET(self) -> None:
        if self.path == "/blank.html":
            body = b"<!doctype html><title>delta vectors</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def static_server() -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(WEB))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Runs in the page: returns {checked, failures}.
CHECK_VECTORS = """
async (base) => {
  const { applyDelta } = await import(base + "/delta.js");
  const { encode, decode } = await import(base + "/vendor/msgpack.mjs");
  const load = async (name) => (await fetch(base + "/vectors/" + name)).json();
  const cases = [...(await load("deltas.json")), ...(await load("by_hand.json"))];

  const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  const same = (a, b) => {
    if (kind(a) !== kind(b)) return false;
    if (kind(a) === "array") return a.length === b.length && a.every((x, i) => same(x, b[i]));
    if (kind(a) === "object") {
      const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
      return same(ka, kb) && ka.every((k) => same(a[k], b[k]));
    }
    return Object.is(a, b);
  };
  const hexToBytes = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  const failures = [];
  let checked = 0;
  for (const c of cases) {
    const fail = (what) => failures.push(c.name + ": " + what);
    try {
      const kept = structuredClone(c.before);
      const got = applyDelta(c.before, c.ops);
      if (!same(got, c.after)) fail("applyDelta gave " + JSON.stringify(got));
      if (!same(c.before, kept)) fail("applyDelta mutated its input");
      const msg = decode(hexToBytes(c.msgpack_hex));
      if (msg.t !== "d" || !Number.isInteger(msg.s) || !Array.isArray(msg.a)) {
        fail("decoded a strange message " + JSON.stringify(msg));
      }
      const expected = { t: "d", s: msg.s, o: c.ops, a: msg.a };
      if (!same(msg, expected)) fail("decoded " + JSON.stringify(msg));
      const again = toHex(encode(msg, { sortKeys: true }));
      if (again !== c.msgpack_hex) fail("re-encoded the decoded message as " + again);
      const built = toHex(encode(expected, { sortKeys: true }));
      if (built !== c.msgpack_hex) fail("encoded the message from its parts as " + built);
      if (!same(applyDelta(c.before, msg.o), c.after)) fail("the decoded ops do not apply");
      checked += 1;
    } catch (e) {
      fail("threw " + e);
    }
  }
  return { checked, total: cases.length, failures };
}
"""


def test_delta_js_passes_the_vectors(static_server: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(static_server + "/blank.html")
            result = page.evaluate(CHECK_VECTORS, static_server)
        finally:
            browser.close()
    assert not errors
    assert result["total"] > 0
    assert result["checked"] == result["total"]
    assert result["failures"] == []


def test_delta_js_refuses_bad_paths(static_server: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    script = """
    async (base) => {
      const { applyDelta } = await import(base + "/delta.js");
      const tries = {
        past_the_end: [[["b", 5], 1]],
        missing_key: [[["x", "y"], 1]],
        into_a_number: [[["n", 0], 1]],
        proto: [[["__proto__"], {}]],
        delete_missing: [[["zz"]]],
      };
      const out = {};
      for (const [name, ops] of Object.entries(tries)) {
        try { applyDelta({ b: [1], n: 3 }, ops); out[name] = "accepted"; }
        catch (e) { out[name] = "refused"; }
      }
      const view = { b: [1], deep: { k: [1, 2] } };
      const next = applyDelta(view, [[["b", 1], 2]]);
      out.shares_untouched = next.deep === view.deep;
      out.kept_input = view.b.length === 1;
      return out;
    }
    """
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(static_server + "/blank.html")
            out = page.evaluate(script, static_server)
        finally:
            browser.close()
    assert out == {
        "past_the_end": "refused",
        "missing_key": "refused",
        "into_a_number": "refused",
        "proto": "refused",
        "delete_missing": "refused",
        "shares_untouched": True,
        "kept_input": True,
    }
