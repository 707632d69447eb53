// The manager web page in headless Debian Chromium (playwright-core, never a downloaded browser): the whole
// customer setup from an empty simulator to an invited user, a rejected form that keeps its values, a key
// edited to a new version, the partner API seeing the door and the user, and the user choosing a password
// from the welcome email's link and signing in with it, and at last the user's phone (`latchkey sim phone-unlock`:
// passwordless sign-in and the SDK's DoorClient) unlocking the lobby. Screenshots of every page go to $SCREENSHOTS.
//
//   LATCHKEY_BIN=target/debug/latchkey CHROMIUM=/usr/bin/chromium node sim/tests/browser/run.mjs
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BIN = process.env.LATCHKEY_BIN ?? 'target/debug/latchkey';
const SHOTS = process.env.SCREENSHOTS ?? 'target/browser-screenshots';
const TOKEN = 'browser-manager-token';
mkdirSync(SHOTS, { recursive: true });

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const BASE = `http://127.0.0.1:${port}`;
// A file, not :memory:, so the phone process can open the same virtual locks.
const work = mkdtempSync(join(tmpdir(), 'latchkey-browser-'));
const SIM_DB = join(work, 'sim.sqlite');
const sim = spawn(BIN, ['sim', 'serve', '--addr', `127.0.0.1:${port}`, '--db', SIM_DB, '--manager-token', TOKEN], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const profile = mkdtempSync(join(tmpdir(), 'latchkey-chromium-'));
let browser;
let step = 0;

async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function main() {
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${BASE}/healthz`)).ok) break; } catch {}
    if (i > 100) throw new Error('the simulator did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  const page = browser.pages()[0] ?? await browser.newPage();

  // Signing in: a wrong token is refused in place, the right one sets an HttpOnly, SameSite=Strict cookie.
  await page.goto(`${BASE}/manager`);
  assert.match(page.url(), /\/manager\/sign-in$/);
  await page.getByLabel('Manager token').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not the manager token' }).waitFor();
  await shot(page, 'sign-in-rejected');
  // By keyboard: type the token and press Enter.
  await page.getByLabel('Manager token').focus();
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/manager\/buildings/);
  const [cookie] = await browser.cookies(BASE);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  // Partner.
  await page.getByRole('link', { name: 'Partners' }).click();
  await page.getByLabel('Name').fill('Acme Stays');
  await page.getByRole('button', { name: 'Create partner' }).click();
  const credentials = await page.getByRole('status').innerText();
  const clientId = credentials.match(/client_id: (\S+)/)[1];
  const clientSecret = credentials.match(/client_secret: (\S+)/)[1];
  await shot(page, 'partners');

  // Building: a bad time zone is refused in place and keeps everything typed.
  await page.getByRole('link', { name: 'Buildings and doors' }).click();
  const building = page.locator('form#building');
  await building.getByLabel('Name').fill('Harbor House');
  await building.getByLabel(/Time zone/).fill('Mars/Olympus');
  await building.getByLabel('Common doorcodes').check();
  await building.getByRole('button', { name: 'Create building' }).click();
  await page.locator('form#building').getByRole('alert').filter({ hasText: 'not an IANA time zone' }).waitFor();
  assert.equal(await page.locator('form#building').getByLabel('Name').inputValue(), 'Harbor House');
  assert.equal(await page.locator('form#building').getByLabel(/Time zone/).inputValue(), 'Mars/Olympus');
  assert.equal(await page.locator('form#building').getByLabel('Common doorcodes').isChecked(), true);
  await shot(page, 'building-rejected');
  await page.locator('form#building').getByLabel(/Time zone/).fill('America/New_York');
  await page.locator('form#building').getByRole('button', { name: 'Create building' }).click();
  await page.getByText('Building created.').waitFor();

  // Doors: the lobby (offline lock) and the gym.
  for (const name of ['Lobby', 'Gym']) {
    const door = page.locator('form#door');
    await door.getByLabel('Name').fill(name);
    await door.getByLabel('Building').selectOption({ label: 'Harbor House' });
    await door.getByRole('button', { name: 'Create door' }).click();
    await page.getByText('Door created.').waitFor();
  }
  // The installer activates both.
  for (const [name, serial] of [['Lobby', 'SN-LOBBY-1'], ['Gym', 'SN-GYM-1']]) {
    const activate = page.locator('form#activate');
    await activate.getByLabel('Door').selectOption({ label: name });
    await activate.getByLabel('Lock serial number').fill(serial);
    await activate.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Door activated').waitFor();
  }
  assert.equal(await page.getByText('Activated', { exact: true }).count(), 2);
  await shot(page, 'buildings');

  // Key: Lobby only, assigned to Acme, enabled.
  await page.getByRole('link', { name: 'Keys' }).click();
  const keyForm = page.locator('form#key');
  await keyForm.getByLabel('Name').fill('Residents');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  await page.locator('form#key').getByRole('alert').filter({ hasText: 'at least one door' }).waitFor();
  assert.equal(await page.locator('form#key').getByLabel('Name').inputValue(), 'Residents');
  await page.locator('form#key').getByLabel('Lobby (Harbor House)').check();
  await page.locator('form#key').getByRole('button', { name: 'Create key' }).click();
  await page.getByText('Key created.').waitFor();
  await page.getByLabel(/Partner \(a key belongs/).selectOption({ label: 'Acme Stays' });
  await page.getByRole('button', { name: 'Assign to partner' }).click();
  await page.getByText('Key assigned to the partner.').waitFor();
  await page.getByRole('button', { name: 'Enable key' }).click();
  await page.getByText('Key enabled.').waitFor();
  await shot(page, 'keys');

  // Invite: a bad email is refused in place with everything kept; then the invite goes through.
  await page.getByRole('link', { name: 'Users' }).click();
  const start = new Date(Date.now() - 3600_000).toISOString().slice(0, 16);
  const end = new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 16);
  const invite = page.locator('form#invite');
  await invite.getByLabel('First name').fill('Ada');
  await invite.getByLabel('Last name').fill('Lovelace');
  await invite.getByLabel('Email').fill('ada-at-example.com');
  await invite.getByLabel('Key').selectOption({ label: 'Residents (v1)' });
  await invite.getByLabel('Start (UTC)').fill(start);
  await invite.getByLabel(/End \(UTC/).fill(end);
  await invite.getByRole('button', { name: 'Invite user' }).click();
  await page.locator('form#invite').getByRole('alert').waitFor();
  for (const [label, value] of [['First name', 'Ada'], ['Last name', 'Lovelace'], ['Email', 'ada-at-example.com'], ['Start (UTC)', start]]) {
    assert.equal(await page.locator('form#invite').getByLabel(label).inputValue(), value, label);
  }
  await shot(page, 'invite-rejected');
  await page.locator('form#invite').getByLabel('Email').fill('ada@example.com');
  await page.locator('form#invite').getByRole('button', { name: 'Invite user' }).click();
  await page.getByText('User invited').waitFor();
  await page.getByText('via key Residents v1').waitFor();
  await shot(page, 'users');

  // A form without the session's CSRF token is refused.
  const forged = await page.request.post(`${BASE}/manager/keys`, { form: { form: 'key', name: 'Forged', csrf: 'nope' }, maxRedirects: 0 });
  assert.equal(forged.status(), 403);

  // The partner API sees the door and the user.
  const tokenResponse = await fetch(`${BASE}/v1/oauth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, audience: 'https://rest.latchaccess.com/access/sdk' }),
  });
  assert.equal(tokenResponse.status, 200, await tokenResponse.clone().text());
  const { access_token: partnerToken } = await tokenResponse.json();
  const partner = (path) => fetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${partnerToken}` } }).then(async (r) => {
    assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
    return r.json();
  });
  const doorNames = async () => JSON.stringify(await partner('/access/sdk/v1/doors'));
  assert.match(await doorNames(), /Lobby/);
  assert.doesNotMatch(await doorNames(), /Gym/);

  // Editing the key's doors makes version 2: the partner sees the gym, and Ada has it without a new invite.
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.getByText('Edit doors (makes version 2)').click();
  await page.locator('form[id^="doors-"]').getByLabel('Gym (Harbor House)').check();
  await page.locator('form[id^="doors-"]').getByRole('button', { name: 'Save doors' }).click();
  await page.getByText('new version of the key').waitFor();
  await page.getByText('version 2').waitFor();
  await shot(page, 'key-version-2');
  assert.match(await doorNames(), /Gym/);
  await page.getByRole('link', { name: 'Users' }).click();
  assert.equal(await page.getByText('via key Residents v2').count(), 2);

  // The outbox holds the welcome email with its signed, expiring link.
  await page.getByRole('link', { name: 'Outbox' }).click();
  const welcome = await page.locator('pre').filter({ hasText: '/account/finalize?token=' }).first().innerText();
  const link = welcome.match(/(\/account\/finalize\?token=\S+)/)[1];
  await shot(page, 'outbox');

  // The invited user chooses a password (a mismatch first), then signs in with it.
  await page.goto(`${BASE}${link}`);
  await page.getByLabel(/^Password/).fill('correct horse battery');
  await page.getByLabel('Repeat the password').fill('something else');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('alert').filter({ hasText: 'differ' }).waitFor();
  await shot(page, 'finalize-rejected');
  await page.getByLabel(/^Password/).fill('correct horse battery');
  await page.getByLabel('Repeat the password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('your password is set').waitFor();
  await shot(page, 'finalized');
  const tampered = await page.request.get(`${BASE}${link.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`);
  assert.equal(tampered.status(), 400);
  await page.goto(`${BASE}/account/sign-in`);
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as Ada').waitFor();
  await shot(page, 'account-signed-in');

  // Keyboard: Tab from the top reaches the skip link first, then the navigation.
  await page.goto(`${BASE}/manager/users`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');

  // The end of the setup: Ada's phone signs in without a password and unlocks the lobby through the SDK.
  const doors = await partner('/access/sdk/v1/doors');
  const lobby = (Array.isArray(doors) ? doors : doors.doors ?? doors.items ?? []).find((d) => d.name === 'Lobby');
  assert.ok(lobby?.uuid, `no Lobby among the partner's doors: ${JSON.stringify(doors)}`);
  const { stdout } = await promisify(execFile)(resolve(BIN), ['sim', 'phone-unlock', '--api', BASE, '--sim-db', SIM_DB,
    '--store', join(work, 'phone.sqlite'), '--client-id', clientId, '--client-secret', clientSecret,
    '--email', 'ada@example.com', '--manager-token', TOKEN, '--door', lobby.uuid], { timeout: 120_000 })
    .catch((error) => assert.fail(`phone-unlock failed (${error.code}): ${error.stderr}${error.stdout}`));
  assert.match(stdout, new RegExp(`^unlocked ${lobby.uuid}$`, 'm'));
  await page.goto(`${BASE}/manager/outbox`);
  await page.getByText('ada@example.com').first().waitFor();
  await shot(page, 'outbox-after-unlock');
  console.log(`browser test passed; screenshots in ${SHOTS}`);
}

try {
  await main();
} finally {
  await browser?.close().catch(() => {});
  sim.kill();
  rmSync(profile, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
