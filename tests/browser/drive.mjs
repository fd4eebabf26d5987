// Drives the Explorer and the design report in Debian's chromium over the Chrome DevTools
// protocol (a pipe: no packages needed), as tests/browser.rs asks. Exits non-zero with the
// failed check on stderr. Usage:
//   node drive.mjs CHROMIUM EXPLORER_BASE COUNTEREXAMPLE_LINK REPORT_HTML SHOTS_DIR
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, base, link, reportHtml, shots] = process.argv.slice(2);
const userData = mkdtempSync(join(tmpdir(), "phone-jpki-chromium-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  `--user-data-dir=${userData}`, "--remote-debugging-pipe", "about:blank",
], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
browser.stderr.on("data", d => { stderr += d; });

let nextId = 1;
const pending = new Map();
let buffer = "";
browser.stdio[4].on("data", chunk => {
  buffer += chunk.toString("utf8");
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const msg = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    }
  }
});
function send(method, params = {}, sessionId) {
  const id = nextId++;
  browser.stdio[3].write(JSON.stringify({ id, method, params, sessionId }) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
}

let failures = 0;
function check(ok, what) {
  if (ok) { console.log(`ok - ${what}`); } else { failures++; console.error(`FAILED - ${what}`); }
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function main() {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const cmd = (m, p) => send(m, p, sessionId);
  await cmd("Page.enable");
  await cmd("Runtime.enable");
  await cmd("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1500, deviceScaleFactor: 1, mobile: false });
  const evaluate = async expr => {
    const r = await cmd("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expr}: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  const waitFor = async (expr, what, ms = 20000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      try { if (await evaluate(expr)) return true; } catch (_) { /* page changing */ }
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const open = async url => {
    await cmd("Page.navigate", { url });
    try {
      await waitFor(`document.body && document.body.dataset.ready === "yes" && location.href === ${JSON.stringify(url)}`, url);
    } catch (e) {
      const state = await evaluate(`JSON.stringify({href: location.href, ready: document.body && document.body.dataset.ready, error: (document.getElementById('error') || {}).textContent})`);
      throw new Error(`${e.message}; page: ${state}`);
    }
  };
  const shot = async name => {
    const { data } = await cmd("Page.captureScreenshot", { format: "png", captureBeyondViewport: false });
    writeFileSync(join(shots, name), Buffer.from(data, "base64"));
  };
  const propStatus = id => evaluate(`document.querySelector('#props tr[data-id="${id}"] td:last-child').textContent`);
  // A real click: the mouse pressed and released at the link's centre.
  const click = async selectorExpr => {
    const box = await evaluate(`(() => { const e = ${selectorExpr}; if (!e) return null; e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()`);
    if (!box) throw new Error(`nothing to click: ${selectorExpr}`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await cmd("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
    }
  };

  // 1. The counterexample link from `check`, opened as printed.
  const labels = new URL(link).pathname.replace(/^\/path\//, "").split("/").map(decodeURIComponent);
  await open(link);
  check(await evaluate(`document.querySelectorAll('#path li[data-step]').length`) === labels.length, "the link opens the whole counterexample");
  check((await propStatus("INV-NO-USE-AFTER-REVOKE")).startsWith(`FAILS here, since step ${labels.length}`), "the broken invariant fails on the shown state");
  check((await propStatus("INV-ONE")) === "holds here", "an unbroken invariant holds there");
  check(await evaluate(`document.querySelectorAll('#props tbody tr').length`) > 40, "every property is listed");
  check(!(await evaluate(`document.body.innerText`)).includes("Searching"), "nothing says Searching while idle");
  check(await evaluate(`document.querySelector('#state svg').textContent.includes('a relying party has accepted a revoked or suspended cert')`), "the state picture shows the violation");
  check(await evaluate(`document.querySelectorAll('#timeline svg g.step.accepted').length`) === labels.length, "the timeline marks every step accepted");
  await shot("explorer-counterexample.png");

  // 2. Step through it from the initial state, one click per step.
  const start = link.replace(/\/path\/[^?]*/, "/path");
  await open(start);
  for (let i = 0; i < labels.length; i++) {
    const before = await propStatus("INV-NO-USE-AFTER-REVOKE");
    check(before === "holds here", `INV-NO-USE-AFTER-REVOKE holds before step ${i + 1}`);
    await click(`[...document.querySelectorAll('#offered a')].find(a => a.textContent === ${JSON.stringify(labels[i])})`);
    await waitFor(`document.body.dataset.ready === "yes" && document.querySelectorAll('#path li[data-step]').length === ${i + 1}`, `step ${i + 1}`);
  }
  check(await evaluate(`location.href`) === link, "clicking through gives the same URL as the link");
  check((await propStatus("INV-NO-USE-AFTER-REVOKE")).startsWith("FAILS here"), "after the last click the invariant fails");

  // 3. Refusals and accepted no-ops told apart, reasons visible without a click.
  const u = new URL(link);
  const q = u.search.replace(/policy=[^&]*&?/, "").replace(/[?&]$/, "");
  await open(`${base}/path/InstallApp(h0)/Apply(h0,auth)${q}`);
  check(await evaluate(`document.querySelector('#path li[data-step="2"]').className`) === "refused", "a refused step is marked refused");
  check(await evaluate(`document.querySelector('#path li[data-step="2"]').innerText.includes('refused: NoApplet')`), "its reason is shown");
  check(await evaluate(`document.querySelectorAll('#timeline svg g.step.refused').length`) === 1, "the timeline marks it refused");
  await evaluate(`(() => { const i = document.getElementById('ask'); i.value = 'GenerateKey(h0)'; i.dispatchEvent(new Event('input')); })()`);
  check(await evaluate(`document.getElementById('answer').textContent`) === "no issuance session is in progress on h0", "why an action is not offered");
  await shot("explorer-refusal.png");
  const happy = ["InstallApp(h0)", "InstallApplet(h0)", "Apply(h0,auth)", "GenerateKey(h0)", "CaIssue(h0)", "WriteCert(h0)", "SetUserPin(h0)", "Use(h0,auth,pin=right)"];
  await open(`${base}/path/${happy.join("/")}${q}`);
  const last = `document.querySelector('#path li[data-step="8"]')`;
  check(await evaluate(`${last}.className`) === "accepted", "the happy path's last use is accepted, not greyed as refused");
  check(await evaluate(`${last}.innerText.includes('accepted, nothing changed')`), "and says nothing changed");

  // 4. Run to completion with the project's checker.
  await open(link);
  await click(`document.getElementById('run')`);
  await waitFor(`document.getElementById('runstate').textContent.startsWith('complete')`, "the run to end", 120000);
  const row = await evaluate(`[...document.querySelectorAll('#global tr')].map(r => r.innerText).find(t => t.startsWith('INV-NO-USE-AFTER-REVOKE'))`);
  check(/BROKEN \(9 steps\)/.test(row || ""), `the whole-world verdict: ${row}`);
  await shot("explorer-run.png");

  // 5. The report.
  await cmd("Page.navigate", { url: "file://" + reportHtml });
  await waitFor(`document.readyState === "complete" && document.querySelector('td.meant') !== null`, "the report");
  check(await evaluate(`document.querySelectorAll('td.meant').length`) >= 10, "the report marks each variant's meant cell");
  check(await evaluate(`document.querySelectorAll('svg.timeline').length`) > 5, "the report draws timelines");
  await shot("report.png");
}

main()
  .catch(e => { failures++; console.error(`FAILED - ${e.message}`); })
  .finally(async () => {
    try { await Promise.race([send("Browser.close"), sleep(3000)]); } catch (_) { /* closing */ }
    const exited = new Promise(r => browser.once("exit", r));
    browser.kill();
    await Promise.race([exited, sleep(5000)]);
    try { rmSync(userData, { recursive: true, force: true }); } catch (_) { /* left in tmp */ }
    if (failures) { console.error(stderr.split("\n").slice(-5).join("\n")); }
    console.log(failures ? `${failures} checks failed` : "all browser checks passed");
    process.exit(failures ? 1 : 0);
  });
