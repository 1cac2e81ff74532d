// Scenarios (c), (d), (e): every page, at desktop width and at 375 px:
//   - axe-core finds no violation of impact serious or critical;
//   - the page does not scroll sideways at 375 px (document scrollWidth <= 375);
//   - no console errors, page errors, failed requests or 5xx anywhere;
//   - a full-page screenshot lands in e2e/screenshots/ (gitignored) for a human to look at.
//
// Pages are checked in a context with the app's real CSP (so a CSP violation is a console
// error), and axe runs in a second context of the same session with bypassCSP, because the
// app's CSP (`script-src 'self'`) would refuse the injected axe script.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, assertNoProblems, signIn, axeViolations, isSerious,
  formatViolations, horizontalOverflow, screenshot,
  ADMIN, ADMIN_RECOVERY_CODES, CLINICIAN, DESKTOP, MOBILE,
} from './support.mjs';

const VIEWPORTS = [['desktop', DESKTOP], ['mobile', MOBILE]];

/** A signed-in (or anonymous) user seen through two contexts: real CSP, and CSP bypassed for axe. */
class Visitor {
  constructor(browser, baseURL) { this.browser = browser; this.baseURL = baseURL; }

  async open(storageState) {
    this.real = await newContext(this.browser, this.baseURL, storageState ? { storageState } : {});
    this.page = await this.real.context.newPage();
    await this.openAxe(storageState);
    return this;
  }

  async openAxe(storageState) {
    await this.axe?.context.close();
    this.axe = await newContext(this.browser, this.baseURL, { bypassCSP: true, ...(storageState ? { storageState } : {}) });
    this.axePage = await this.axe.context.newPage();
  }

  async refreshAxeSession() { await this.openAxe(await this.real.context.storageState()); }

  async close() {
    await this.real?.context.close();
    await this.axe?.context.close();
  }
}

describe('every page: axe, 375 px layout, no console errors, screenshots', { timeout: 600_000 }, () => {
  let server;
  let browser;
  const anon = {};
  const clinician = {};
  const admin = {};
  const ids = {};
  const axeSummary = new Map(); // rule id -> { impact, pages: Set }

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    Object.assign(anon, { v: await new Visitor(browser, server.url).open() });

    // The admin signs in first: the second-factor page is checked on the way, and the admin can
    // see every client of the practice, so we learn a client who is not on Sam's care team.
    const a = await new Visitor(browser, server.url).open();
    await signIn(a.page, ADMIN);
    assert.equal(new URL(a.page.url()).pathname, '/login/second-factor');
    await a.refreshAxeSession();
    Object.assign(admin, { v: a, partial: true });

    const c = await new Visitor(browser, server.url).open();
    await signIn(c.page, CLINICIAN);
    await c.refreshAxeSession();
    Object.assign(clinician, { v: c });
    await c.page.goto('/caseload');
    const mine = await c.page.locator('#results a[href^="/clients/"]').evaluateAll((as) => as.map((x) => x.getAttribute('href')));
    assert.ok(mine.length > 0, 'Sam has clients');
    ids.own = mine[0].split('/')[2];
  });

  after(async () => {
    const lines = [...axeSummary.entries()].map(([id, s]) => `${s.impact} ${id}: ${[...s.pages].join(', ')}`);
    console.log(`# axe violations of any impact (${lines.length} rules)${lines.length ? `\n# ${lines.join('\n# ')}` : ''}`);
    for (const who of [anon, clinician, admin]) await who.v?.close();
    await browser?.close();
    await server?.stop();
  });

  /** Checks one page as one visitor at both widths. `expectStatus` is the document's status. */
  async function checkPage(who, name, path, { expectStatus = 200, allowConsole = [] } = {}) {
    const { page, axePage, real, axe } = who.v;
    const failures = [];
    for (const [label, viewport] of VIEWPORTS) {
      await page.setViewportSize(viewport);
      const res = await page.goto(path);
      assert.equal(res.status(), expectStatus, `${path} answered ${res.status()} (now at ${page.url()})`);
      await page.waitForLoadState('load');
      const overflow = await horizontalOverflow(page);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (overflow > 0 || scrollWidth > viewport.width) {
        const culprits = await page.evaluate((w) => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > w + 0.5)
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).replace(/\s+/g, '.')}` : ''} (right ${Math.round(el.getBoundingClientRect().right)})`), viewport.width);
        failures.push(`${label}: page is ${scrollWidth}px wide in a ${viewport.width}px viewport; wide elements: ${culprits.join(', ')}`);
      }
      await screenshot(page, `${name}-${label}`);

      await axePage.setViewportSize(viewport);
      const axeRes = await axePage.goto(path);
      assert.equal(axeRes.status(), expectStatus);
      const violations = await axeViolations(axePage);
      for (const v of violations) {
        const entry = axeSummary.get(v.id) ?? { impact: v.impact, pages: new Set() };
        entry.pages.add(`${name}@${label}`);
        axeSummary.set(v.id, entry);
      }
      const serious = violations.filter(isSerious);
      if (serious.length) failures.push(`${label}: axe found serious/critical violations:\n${formatViolations(serious)}`);
    }
    const problems = [...real.problems, ...axe.problems].filter((p) => !allowConsole.some((re) => re.test(p)));
    real.problems.length = 0;
    axe.problems.length = 0;
    assert.deepEqual(failures, [], failures.join('\n'));
    assertNoProblems(problems);
  }

  // The document of a 404 page is itself logged by Chromium as a failed resource load.
  const notFoundConsole = [/Failed to load resource: the server responded with a status of 404/];

  it('sign-in page', () => checkPage(anon, 'login', '/login'));
  it('not-found page', () => checkPage(anon, 'not-found', '/no-such-page', { expectStatus: 404, allowConsole: notFoundConsole }));
  it('second-factor page', () => checkPage(admin, 'second-factor', '/login/second-factor'));

  it('(admin completes the second factor)', async () => {
    const { page } = admin.v;
    await page.goto('/login/second-factor');
    await page.getByLabel('Code').fill(ADMIN_RECOVERY_CODES[0]);
    await Promise.all([page.waitForURL('**/caseload'), page.getByRole('button', { name: 'Continue' }).click()]);
    await admin.v.refreshAxeSession();
    await page.goto('/admin/clients');
    const all = await page.locator('a[href$="/care-team"]').evaluateAll((as) => as.map((x) => x.getAttribute('href').split('/')[3]));
    assert.ok(all.length > 0, 'the admin sees the practice\'s clients');
    ids.all = all;
  });

  it('(find a client who is not on the clinician\'s care team)', async () => {
    const { page } = clinician.v;
    await page.goto('/caseload');
    const mine = await page.locator('#results a[href^="/clients/"]').evaluateAll((as) => as.map((x) => x.getAttribute('href').split('/')[2]));
    ids.other = ids.all.find((id) => !mine.includes(id));
    assert.ok(ids.other, 'some demo client is on another clinician\'s caseload only');
  });

  it('caseload', () => checkPage(clinician, 'caseload', '/caseload'));
  it('caseload search with no match', () => checkPage(clinician, 'caseload-no-match', '/caseload?q=zzzz-nobody'));
  it('new client form', () => checkPage(clinician, 'client-new', '/clients/new'));
  it('client record', () => checkPage(clinician, 'client', `/clients/${ids.own}`));
  it('edit client form', () => checkPage(clinician, 'client-edit', `/clients/${ids.own}/edit`));
  it('paper form entry (PHQ-9)', () => checkPage(clinician, 'paper-form', `/clients/${ids.own}/measures/new?instrument=phq9`));
  it('paper form entry (daily check-in)', () => checkPage(clinician, 'paper-form-checkin', `/clients/${ids.own}/measures/new?instrument=checkin`));
  it('MI feedback over time', () => checkPage(clinician, 'transcript-trends', `/clients/${ids.own}/transcripts`));
  it('a session\'s transcript page', async () => {
    const { page } = clinician.v;
    await page.goto(`/clients/${ids.own}`);
    const href = await page.locator('a', { hasText: 'Transcript' }).first().getAttribute('href');
    assert.ok(href, 'the record links each session to its transcript page');
    await checkPage(clinician, 'transcript', href);
  });
  it('account', () => checkPage(clinician, 'account', '/account'));
  it('second-factor set-up', () => checkPage(clinician, 'second-factor-setup', '/account/second-factor'));
  it('emergency access request form', () => checkPage(clinician, 'break-glass-request', `/clients/${ids.other}/break-glass`));

  it('(clinician uses emergency access, so the admin review has a grant to show)', async () => {
    const { page } = clinician.v;
    await page.goto(`/clients/${ids.other}/break-glass`);
    await page.getByLabel('Reason').fill('Client called in crisis; their clinician is away today.');
    await Promise.all([
      page.waitForURL((u) => u.pathname === `/clients/${ids.other}`),
      page.getByRole('button', { name: 'Open the record' }).click(),
    ]);
    await page.getByRole('alert').filter({ hasText: 'emergency' }).waitFor();
    assertNoProblems(clinician.v.real.problems);
  });

  it('client record under emergency access', () => checkPage(clinician, 'client-break-glass', `/clients/${ids.other}`));

  it('admin home', () => checkPage(admin, 'admin', '/admin'));
  it('admin: staff accounts', () => checkPage(admin, 'admin-users', '/admin/users'));
  it('admin: clients and care teams', () => checkPage(admin, 'admin-clients', '/admin/clients'));
  it('admin: a care team', () => checkPage(admin, 'admin-care-team', `/admin/clients/${ids.own}/care-team`));
  it('admin: audit log', () => checkPage(admin, 'admin-audit', '/admin/audit'));
  it('admin: instruments', () => checkPage(admin, 'admin-instruments', '/admin/instruments'));
  it('admin: emergency access review', () => checkPage(admin, 'admin-break-glass', '/admin/break-glass'));
  it('admin: account', () => checkPage(admin, 'admin-account', '/account'));
});
