// Scenario (b): the admin signs in through the second factor with a recovery code (each code
// works once) and visits every admin page.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, assertNoProblems, signIn,
  ADMIN, ADMIN_RECOVERY_CODES, CLINICIAN, DEMO_PASSWORD, DESKTOP,
} from './support.mjs';

const pathOf = (page) => new URL(page.url()).pathname;

describe('admin: second factor and the admin pages', { timeout: 180_000 }, () => {
  let server;
  let browser;
  let context;
  let problems;
  let page;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    ({ context, problems } = await newContext(browser, server.url, { viewport: DESKTOP }));
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  it('asks for the second factor and does not let the admin past it without one', async () => {
    await signIn(page, ADMIN);
    assert.equal(pathOf(page), '/login/second-factor');
    await page.getByLabel('Code').waitFor();
    for (const target of ['/caseload', '/admin']) {
      await page.goto(target);
      assert.notEqual(pathOf(page), target, `${target} must not open before the second factor`);
    }
    assertNoProblems(problems.filter((p) => !/status of 4\d\d/.test(p)));
    problems.length = 0;
  });

  it('refuses a wrong code with a message', async () => {
    await page.goto('/login/second-factor');
    await page.getByLabel('Code').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForLoadState();
    assert.equal(pathOf(page), '/login/second-factor');
    await page.getByRole('alert').waitFor();
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 4\d\d/.test(p)));
    assertNoProblems(problems);
  });

  it('accepts a recovery code and shows the Admin link', async () => {
    await page.getByLabel('Code').fill(ADMIN_RECOVERY_CODES[0]);
    await Promise.all([page.waitForURL('**/caseload'), page.getByRole('button', { name: 'Continue' }).click()]);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();
    assertNoProblems(problems);
  });

  it('shows the administration home with a link to each admin page', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL('**/admin');
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
    for (const name of ['Staff accounts', 'Clients and care teams', 'Audit log', 'Emergency access']) {
      assert.equal(await page.getByRole('link', { name, exact: true }).count(), 1, `link ${name}`);
    }
    assertNoProblems(problems);
  });

  it('lists the staff accounts', async () => {
    await page.getByRole('link', { name: 'Staff accounts', exact: true }).click();
    await page.waitForURL('**/admin/users');
    await page.getByRole('heading', { level: 1, name: 'Staff accounts' }).waitFor();
    const text = await page.locator('table').textContent();
    for (const email of [CLINICIAN, ADMIN]) assert.ok(text.includes(email), `${email} is listed`);
    assertNoProblems(problems);
  });

  it('lists the clients with a care-team link each, and opens one', async () => {
    await page.goto('/admin');
    await page.getByRole('link', { name: 'Clients and care teams', exact: true }).click();
    await page.waitForURL('**/admin/clients');
    const manage = page.getByRole('link', { name: 'Manage care team' });
    assert.ok(await manage.count() >= 10, 'the demo practice has a dozen clients');
    await manage.first().click();
    await page.waitForURL(/\/admin\/clients\/[^/]+\/care-team$/);
    await page.getByRole('heading', { level: 1, name: /^Care team of / }).waitFor();
    await page.getByLabel('Add staff member').waitFor();
    assertNoProblems(problems);
  });

  it('shows the audit log with an intact chain and the sign-ins', async () => {
    await page.goto('/admin');
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.waitForURL('**/admin/audit');
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    const status = (await page.locator('main p strong').first().textContent()).trim();
    assert.match(status, /intact|ok|verified/i, `chain status: ${status}`);
    assert.ok(await page.locator('table tbody tr').count() > 0, 'the audit log has entries');
    assertNoProblems(problems);
  });

  it('shows the emergency access review page', async () => {
    await page.goto('/admin');
    await page.getByRole('link', { name: 'Emergency access', exact: true }).click();
    await page.waitForURL('**/admin/break-glass');
    await page.getByRole('heading', { level: 1, name: /Emergency/ }).waitFor();
    assertNoProblems(problems);
  });

  it('disables a staff account (who then cannot sign in) and re-enables it', async () => {
    const other = 'priya.nair@demo.concord.test';
    await page.goto('/admin/users');
    const row = () => page.locator('tbody tr').filter({ hasText: other });
    await Promise.all([page.waitForLoadState(), row().getByRole('button', { name: 'Disable' }).click()]);
    await row().getByRole('button', { name: 'Enable' }).waitFor();

    const { context: ctx2, problems: problems2 } = await newContext(browser, server.url, { viewport: DESKTOP });
    try {
      const p2 = await ctx2.newPage();
      await p2.goto('/login');
      await p2.getByLabel('Email').fill(other);
      await p2.getByLabel('Password').fill(DEMO_PASSWORD);
      await p2.getByRole('button', { name: 'Sign in' }).click();
      await p2.waitForLoadState();
      assert.equal(pathOf(p2), '/login', 'a disabled account cannot sign in');
      await p2.getByRole('alert').waitFor();
      assertNoProblems(problems2.filter((p) => !/status of 4\d\d/.test(p)));
    } finally {
      await ctx2.close();
    }

    await Promise.all([page.waitForLoadState(), row().getByRole('button', { name: 'Enable' }).click()]);
    await row().getByRole('button', { name: 'Disable' }).waitFor();
    assertNoProblems(problems);
  });

  it('signs out, and a used recovery code no longer works', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    await signIn(page, ADMIN);
    assert.equal(pathOf(page), '/login/second-factor');
    await page.getByLabel('Code').fill(ADMIN_RECOVERY_CODES[0]);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForLoadState();
    assert.equal(pathOf(page), '/login/second-factor', 'a recovery code works once');
    await page.getByLabel('Code').fill(ADMIN_RECOVERY_CODES[1]);
    await Promise.all([page.waitForURL('**/caseload'), page.getByRole('button', { name: 'Continue' }).click()]);
    problems.splice(0, problems.length, ...problems.filter((p) => !/status of 4\d\d/.test(p)));
    assertNoProblems(problems);
  });
});
