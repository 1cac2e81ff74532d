// Shared set-up for the browser tests: start the real `concord` binary on a throwaway demo
// practice, drive Debian's Chromium through playwright-core (no browser downloads), and the
// checks every page gets (console errors, 375 px overflow, axe-core, screenshots).
//
// Environment:
//   CONCORD_BIN      the binary to test (default target/debug/concord)
//   CHROMIUM_PATH    the browser (default /usr/bin/chromium)
//   E2E_SCREENSHOTS  folder for screenshots (default e2e/screenshots; gitignored)

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..');
export const screenshotDir = path.resolve(repoRoot, process.env.E2E_SCREENSHOTS ?? 'e2e/screenshots');
export const axePath = path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js');

export const DEMO_PASSWORD = 'e2e-demo-password-0123';
export const CLINICIAN = 'sam.rivera@demo.concord.test';
export const ADMIN = 'ada.admin@demo.concord.test';
export const ADMIN_RECOVERY_CODES = ['demo1-admin', 'demo2-admin', 'demo3-admin'];

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 375, height: 740 };

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A unique, plausible client name (letters only, so search by any part of it works). */
export function uniqueName(prefix = 'Quill') {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let tail = '';
  for (let i = 0; i < 8; i += 1) tail += letters[Math.floor(Math.random() * letters.length)];
  return `${prefix} Zed${tail}`;
}

/**
 * Starts `concord serve --demo` on a port the OS picks (`127.0.0.1:0`; the binary prints the
 * address it bound), waits for /healthz, and returns { url, logs(), stop() }.
 */
export async function startServer() {
  const bin = path.resolve(repoRoot, process.env.CONCORD_BIN ?? 'target/debug/concord');
  assert.ok(fs.existsSync(bin), `concord binary not found at ${bin} (build it with: cargo build -p concord-cli)`);
  const child = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0'], {
    cwd: repoRoot,
    env: { ...process.env, CONCORD_DEMO_PASSWORD: DEMO_PASSWORD, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const killOnExit = () => { if (exited === null) child.kill('SIGKILL'); };
  process.on('exit', killOnExit);

  const deadline = Date.now() + 60_000;
  let url = null;
  while (url === null) {
    if (exited !== null) throw new Error(`concord exited early (${JSON.stringify(exited)})\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`concord did not print its address\n${stdout}\n${stderr}`); }
    const m = stdout.match(/Concord is running at (http:\/\/[^\s]+)/);
    if (m) url = m[1].replace(/\/$/, '');
    else await sleep(50);
  }
  for (;;) {
    if (exited !== null) throw new Error(`concord exited (${JSON.stringify(exited)})\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`/healthz never answered 200\n${stderr}`); }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    await sleep(50);
  }

  return {
    url,
    logs: () => stdout + stderr,
    async stop() {
      process.off('exit', killOnExit);
      if (exited !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit').catch(() => {});
      clearTimeout(timer);
    },
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  assert.ok(fs.existsSync(executablePath), `Chromium not found at ${executablePath} (apt-get install -y chromium)`);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/**
 * A browser context whose pages record console errors, uncaught page errors, failed requests
 * and server errors into `problems`. Assert `problems` is empty at the end of each test.
 */
export async function newContext(browser, baseURL, options = {}) {
  const context = await browser.newContext({ baseURL, viewport: DESKTOP, ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const problems = [];
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        const where = msg.location()?.url;
        problems.push(`console error on ${page.url()}: ${msg.text()}${where ? ` (${where})` : ''}`);
      }
    });
    page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
    page.on('requestfailed', (req) => {
      const failure = req.failure()?.errorText ?? '';
      // A navigation that replaces an in-flight request (e.g. typing fast) aborts it; not a fault.
      if (!failure.includes('ERR_ABORTED')) problems.push(`request failed: ${req.method()} ${req.url()} ${failure}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 500) problems.push(`server error ${res.status()} for ${res.request().method()} ${res.url()}`);
      else if (res.status() >= 400 && res.request().resourceType() !== 'document') {
        problems.push(`${res.status()} for ${res.request().resourceType()} ${res.url()}`);
      }
    });
  };
  context.on('page', watch);
  return { context, problems };
}

export function assertNoProblems(problems) {
  assert.deepEqual(problems, [], `console/page errors:\n${problems.join('\n')}`);
}

export async function signIn(page, email, password = DEMO_PASSWORD) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((u) => u.pathname !== '/login'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

export async function signInAdmin(page, code) {
  await signIn(page, ADMIN);
  assert.equal(new URL(page.url()).pathname, '/login/second-factor');
  await page.getByLabel('Code').fill(code);
  await Promise.all([page.waitForURL('**/caseload'), page.getByRole('button', { name: 'Continue' }).click()]);
}

/** The page's horizontal overflow in CSS pixels (0 when it fits the viewport). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Runs axe-core on the current page; returns every violation with its impact. */
export async function axeViolations(page) {
  const present = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!present) await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} :: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`.slice(0, 400)),
    }));
  });
}

export const isSerious = (v) => v.impact === 'serious' || v.impact === 'critical';

export function formatViolations(violations) {
  return violations
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`)
    .join('\n');
}

/** A full-page screenshot, cut at 2400 px tall (the audit log runs to hundreds of rows). */
export async function screenshot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const size = await page.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
  }));
  await page.screenshot({
    path: path.join(screenshotDir, `${name}.png`),
    fullPage: true,
    clip: { x: 0, y: 0, width: size.width, height: Math.min(size.height, 2400) },
  });
}
