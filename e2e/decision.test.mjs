// The client's decision worksheet in the portal on a 375 px phone (issue 5): the demo client
// (Maya Thompson) opens her link, goes to her decision worksheet, edits her statement, a
// weight, the balance grid and her questions (picking a suggested one), saves, and answers
// SURE. Every page: axe-core finds no serious or critical violation, nothing scrolls
// sideways, no console errors, and a screenshot lands in e2e/screenshots/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newContext, assertNoProblems, axeViolations, isSerious,
  formatViolations, horizontalOverflow, screenshot, sleep, MOBILE,
} from './support.mjs';

const PORTAL_LINE = /Client portal \(demo\): (http:\/\/\S+\/portal\/\S+)/;

async function demoPortalLink(server) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const m = server.logs().match(PORTAL_LINE);
    if (m) return m[1];
    if (Date.now() > deadline) return null;
    await sleep(50);
  }
}

describe('decision worksheet in the portal on a 375 px phone', { timeout: 300_000 }, () => {
  let server = null;
  let browser;
  let link = null;

  before(async () => {
    if (process.env.E2E_PORTAL_URL) {
      link = process.env.E2E_PORTAL_URL;
    } else {
      server = await startServer();
      link = await demoPortalLink(server);
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function check(page, axeContext, name) {
    assert.equal(await horizontalOverflow(page), 0, `${name} scrolls sideways at 375 px`);
    const axePage = await axeContext.newPage();
    const html = await page.content();
    await axePage.route('**/*', (route) => {
      if (route.request().resourceType() === 'document') return route.fulfill({ status: 200, contentType: 'text/html', body: html });
      return route.continue();
    });
    await axePage.goto(page.url());
    const serious = (await axeViolations(axePage)).filter(isSerious);
    await axePage.close();
    assert.deepEqual(serious, [], `axe on ${name}:\n${formatViolations(serious)}`);
    await screenshot(page, `portal-decision-${name}`);
  }

  it('edits the statement, a weight, the balance grid and questions, and answers SURE', async (t) => {
    if (!link) {
      t.skip('concord serve --demo did not print "Client portal (demo): <url>"; nothing to open');
      return;
    }
    const base = new URL(link).origin;
    const { context, problems } = await newContext(browser, base, { viewport: MOBILE, isMobile: true, hasTouch: true });
    const axe = await newContext(browser, base, { viewport: MOBILE, bypassCSP: true });
    const page = await context.newPage();

    await page.goto(link);
    await page.waitForURL('**/portal');
    await page.getByRole('link', { name: 'Your decision worksheet' }).click();
    await page.waitForURL('**/portal/decision');
    await page.getByRole('heading', { level: 1, name: 'Your decision worksheet' }).waitFor();
    assert.ok(await page.getByText('Should I try medication for my low mood?').count() > 0, 'the question in her words');
    await check(page, axe.context, 'worksheet');

    await page.getByLabel(/Who you are, what you want treatment to help with/).fill('I teach, I love the outdoors, and I want my energy back.');
    const weight = page.getByLabel('No weight gain', { exact: true });
    await weight.fill('9');
    await page.getByLabel('What is good about staying the same', { exact: true }).fill('Therapy is helping a bit\nI know what to expect');
    await page.getByLabel('What does it cost, and how often would I need appointments?').check();
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.getByRole('button', { name: 'Save my worksheet' }).click()]);
    await page.waitForURL('**/portal/decision*');
    assert.equal(await page.getByLabel(/Who you are, what you want treatment to help with/).inputValue(),
      'I teach, I love the outdoors, and I want my energy back.');
    assert.equal(await page.getByLabel('No weight gain', { exact: true }).inputValue(), '9');
    assert.match(await page.getByLabel('Your questions (one per line)').inputValue(), /What does it cost/);
    await check(page, axe.context, 'saved');

    // SURE: not sure, but informed, clear and supported → 3/4, certainty still open.
    const sure = page.locator('section[aria-labelledby="sure"]');
    await sure.getByRole('group', { name: 'Do you feel sure about the best choice for you?' }).getByLabel('No', { exact: true }).check();
    await sure.getByRole('group', { name: 'Do you know the benefits and risks of each option?' }).getByLabel('Yes', { exact: true }).check();
    await sure.getByRole('group', { name: 'Are you clear about which benefits and risks matter most to you?' }).getByLabel('Yes', { exact: true }).check();
    await sure.getByRole('group', { name: 'Do you have enough support and advice to make a choice?' }).getByLabel('Yes', { exact: true }).check();
    await Promise.all([page.waitForLoadState('domcontentloaded'), sure.getByRole('button', { name: 'Check my answers' }).click()]);
    await page.waitForURL('**/portal/decision*');
    await page.getByText(/SURE 3\/4: some decisional conflict/).first().waitFor();
    await check(page, axe.context, 'sure');

    await axe.context.close();
    await context.close();
    assertNoProblems(problems);
  });
});
