/**
 * The web UI end to end: Debian's chromium, driven by playwright-core,
 * against a real Cairn server serving the freshly built UI, with records
 * ingested over the real API. Screenshots of every view go to
 * test-artifacts/ui/ (kept by CI).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { freePort, json, postLogs, query, ROOT, startTestServer, type TestServer } from '../helpers/server.ts';
import { AgentStream, grpcClient, metadata } from '../helpers/grpc.ts';

/*
 * The few browser names used inside page.evaluate callbacks, which run in the
 * page: this file is type-checked with Node's types, without the DOM library.
 */
declare const window: { innerWidth: number; __pwned?: string; __csp: string[] };
declare const document: any;
declare const sessionStorage: { getItem(key: string): string | null };
declare const localStorage: { getItem(key: string): string | null };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const ARTIFACTS = join(ROOT, 'test-artifacts', 'ui');
const CHROMIUM = '/usr/bin/chromium';
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 360, height: 780 };

let browser: Browser;
let server: TestServer;
let grpcAddress: string;
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

/** Hostile values: each would run, inject or disguise something if it were interpreted instead of shown. */
const HOSTILE = {
  script: '<script>window.__pwned="script"</script>',
  img: '<img src=x onerror="window.__pwned=\'img\'">',
  svg: '<svg onload="window.__pwned=\'svg\'"><circle r=5></svg>',
  iframe: '"><iframe src="javascript:window.__pwned=\'iframe\'"></iframe>',
  template: "{{constructor.constructor('window.__pwned=\"tpl\"')()}}",
  ansi: '\u001b[31;1mRED ALERT\u001b[0m \u001b]0;owned title\u0007\u001b[2Jafter-clear',
  bidi: 'invoice\u202Efdp.exe',
};

function screenshot(page: Page, name: string) {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

async function open(url: string, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: WIDE, timezoneId: 'America/New_York', colorScheme: 'light', ...options });
  const page = await context.newPage();
  // Collected for the assertions: a dialog would mean script ran; CSP reports mean something tried.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e: { violatedDirective: string; blockedURI: string }) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { dialogs: string[]; errors: string[] }).dialogs = dialogs;
  (page as Page & { dialogs: string[]; errors: string[] }).errors = errors;
  await page.goto(`${server.url}${url}`);
  return page;
}

const problems = (page: Page) => page as Page & { dialogs: string[]; errors: string[] };

async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The rows in the DOM: the list is virtualized, so these are the ones in view, not all results. */
const rowTexts = (page: Page) => page.locator('.rec .line').allInnerTexts();
/** How many records the results list holds. */
const loaded = async (page: Page) => Number(await page.locator('.list[role="grid"]').first().getAttribute('aria-rowcount'));
const params = (page: Page) => new URL(page.url()).searchParams;

async function noHorizontalOverflow(page: Page) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `page is ${scroll}px wide in a ${width}px viewport`);
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // The UI under test is the one in this tree, not a stale build.
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(ROOT, 'web', 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit' });
  grpcAddress = `127.0.0.1:${await freePort()}`;
  server = await startTestServer({ sources: { grpc: { listen: grpcAddress } } });
  const records: object[] = [];
  const hosts = ['web-1', 'web-2', 'db-1'];
  const levels = ['info', 'info', 'warning', 'error', 'debug', 'notice'];
  for (let i = 0; i < 300; i++) {
    records.push({
      ts: minutesAgo(50 - (i % 50)),
      message: `GET /cart/${i % 20} took ${i % 90}ms`,
      host: hosts[i % 3],
      service: i % 2 ? 'checkout' : 'search',
      level: levels[i % levels.length],
      status: i % 10 === 0 ? 500 : 200,
    });
  }
  const shared = { trace_id: 'trace-ui-1', correlation_id: 'order-77' };
  records.push({ ts: minutesAgo(5), message: 'order 77 accepted', host: 'web-1', os: 'linux', service: 'orders', level: 'info', ...shared });
  records.push({ ts: minutesAgo(5), message: 'payment for order 77 declined', host: 'WIN-PAY01', os: 'windows', service: 'payments', level: 'error', ...shared });
  records.push({ ts: minutesAgo(5), message: 'retrying order 77', host: 'web-2', os: 'linux', service: 'orders', level: 'warning', ...shared });
  records.push({ ts: '2026-01-05T15:04:05.123456789Z', message: 'a moment in January', service: 'tz' });
  assert.equal((await postLogs(server.url, records)).status, 200);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('explore', () => {
  test('a search from the box runs, fills the URL, the histogram and the list', async () => {
    const page = await open('/');
    const box = page.getByRole('combobox', { name: 'Search query' });
    await box.fill('service:checkout level>=warning');
    await box.press('Enter');
    await until('the URL to hold the query', async () => params(page).get('q') === 'service:checkout level>=warning');
    const expected = (await query(server.url, { q: 'service:checkout level>=warning', limit: '1000' })).body.records.length;
    assert.ok(expected > 0);
    await until('the histogram count', async () => (await page.locator('section[aria-label="Matches over time"] header').innerText()).includes(`${expected} records`));
    await until('the rows', async () => (await loaded(page)) === expected);
    for (const row of await rowTexts(page)) {
      assert.match(row, /checkout/);
      assert.match(row, /WARN|ERROR/);
    }
    assert.ok((await page.locator('.histogram rect.sev-fill-err').count()) > 0, 'error bars drawn');
    // The level counts in the field list come from the histogram and agree with it.
    const levelCounts = await page.locator('ul[aria-label="Top values of level"] li').allInnerTexts();
    assert.equal(levelCounts.reduce((n, t) => n + Number(/([\d,]+)\s*$/.exec(t.trim())![1]!.replace(/,/g, '')), 0), expected);
    await screenshot(page, 'explore-search');
    // The link reproduces the view.
    const again = await open(new URL(page.url()).pathname + new URL(page.url()).search);
    await until('the same rows from the link', async () => (await loaded(again)) === expected);
    assert.equal(await again.getByRole('combobox', { name: 'Search query' }).inputValue(), 'service:checkout level>=warning');
    assert.deepEqual([problems(page).errors, problems(again).errors], [[], []]);
    await page.context().close();
    await again.context().close();
  });

  test('/?q= opens Explore on that query over the last hour; a bad query shows the parser\'s message', async () => {
    const page = await open('/?q=host%3Adb-1');
    await until('db-1 rows', async () => (await loaded(page)) === 100);
    assert.ok((await rowTexts(page)).every((r) => r.includes('db-1')));
    assert.match(await page.getByRole('button', { name: /Last hour/ }).innerText(), /Last hour/);
    const box = page.getByRole('combobox', { name: 'Search query' });
    await box.fill('(unclosed');
    await box.press('Enter');
    const alert = page.locator('.search [role="alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /unclosed/);
    await page.context().close();
  });

  test('completion offers field names, then values; Tab and Enter pick them', async () => {
    const page = await open('/');
    const box = page.getByRole('combobox', { name: 'Search query' });
    await box.click();
    await box.pressSequentially('serv');
    const options = page.getByRole('option');
    await until('field completions', async () => (await options.allInnerTexts()).some((t) => t.startsWith('service')));
    await box.press('Tab');
    assert.equal(await box.inputValue(), 'service:');
    await until('value completions', async () => (await options.allInnerTexts()).some((t) => t.startsWith('checkout')));
    await box.pressSequentially('sea');
    await box.press('ArrowDown');
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'service:search ');
    await box.pressSequentially('stat');
    await until('attrs completions', async () => (await options.allInnerTexts()).some((t) => t.startsWith('attrs.status')));
    await screenshot(page, 'explore-completion');
    await box.press('Tab');
    await box.pressSequentially('500');
    await box.press('Enter');
    await until('the filtered rows', async () => params(page).get('q') === 'service:search attrs.status:500' && (await loaded(page)) === 30);
    await page.context().close();
  });

  test('clicking a value filters in; its minus filters out', async () => {
    const page = await open('/');
    const value = page.locator('.values button.value[data-field="host"][data-value="web-2"]');
    await value.waitFor();
    await value.click();
    await until('host:web-2 in the query', async () => params(page).get('q') === 'host:web-2');
    const count = async (q: string) => (await query(server.url, { q, limit: '1000' })).body.records.length as number;
    const web2 = await count('host:web-2');
    await until('only web-2 rows', async () => {
      const rows = await rowTexts(page);
      return (await loaded(page)) === web2 && rows.every((r) => r.includes('web-2'));
    });
    // From an expanded record: leave out its service.
    await page.locator('.rec .line').first().click();
    const detail = page.locator('.detail');
    await detail.waitFor();
    const service = (await detail.locator('tr', { has: page.locator('td.name', { hasText: /^service$/ }) }).locator('td.value').innerText()).trim();
    await detail.getByRole('button', { name: 'Filter out service' }).click();
    await until('the negated term', async () => params(page).get('q') === `host:web-2 -service:${service}`);
    const without = await count(`host:web-2 -service:${service}`);
    assert.ok(without > 0 && without < web2);
    await until('rows without that service', async () => {
      const rows = await rowTexts(page);
      return (await loaded(page)) === without && rows.every((r) => r.includes('web-2') && !r.includes(service));
    });
    // And back in: the opposite click replaces the term.
    await page.locator(`.values button.value[data-field="host"][data-value="web-2"]`).waitFor();
    await page.getByRole('button', { name: 'Filter out host web-2' }).click();
    await until('host negated', async () => params(page).get('q') === `-host:web-2 -service:${service}`);
    await page.context().close();
  });

  test('keyboard: / focuses search, j/k move, Enter expands (and the URL keeps it), Esc closes', async () => {
    const page = await open('/?q=service:search');
    await page.locator('.rec').first().waitFor();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search query');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    assert.equal(await page.locator('.rec[data-cursor="true"]').getAttribute('data-index'), '1');
    await page.keyboard.press('Enter');
    const expanded = page.locator('.rec[aria-expanded="true"]');
    await expanded.waitFor();
    const id = await expanded.getAttribute('data-id');
    await until('sel in the URL', async () => params(page).get('sel') === id);
    await screenshot(page, 'explore-expanded');
    const again = await open(new URL(page.url()).pathname + new URL(page.url()).search);
    await again.locator(`.rec[aria-expanded="true"][data-id="${id}"]`).waitFor();
    await page.keyboard.press('Escape');
    await until('collapsed', async () => (await page.locator('.rec[aria-expanded="true"]').count()) === 0 && !params(page).get('sel'));
    await page.context().close();
    await again.context().close();
  });

  test('a link to a record outside the loaded results still shows it', async () => {
    const [january] = (await query(server.url, { q: 'service:tz', from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' })).body.records as { id: string }[];
    const page = await open(`/?sel=${january!.id}`);
    const linked = page.locator('section[aria-label="Linked record"]');
    await linked.waitFor();
    assert.match(await linked.innerText(), /a moment in January/);
    await page.context().close();
  });

  test('dragging across the histogram zooms into that range', async () => {
    const page = await open('/');
    const chart = page.locator('.histogram svg');
    await page.locator('.histogram rect.sev-fill-info').first().waitFor();
    const box = (await chart.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await until('an absolute range in the URL', async () => params(page).get('from')?.endsWith('Z') && params(page).get('to')?.endsWith('Z'));
    const span = Date.parse(params(page).get('to')!) - Date.parse(params(page).get('from')!);
    assert.ok(span > 8 * 60_000 && span < 16 * 60_000, `about a fifth of the hour, got ${span} ms`);
    await page.context().close();
  });

  test('the range picker sets relative and absolute ranges (absolute ones in the viewer\'s zone)', async () => {
    const page = await open('/?q=service:tz');
    await page.getByRole('button', { name: /Last hour/ }).click();
    await page.getByRole('dialog', { name: 'Time range' }).getByRole('button', { name: 'Last 6 hours' }).click();
    await until('a relative range', async () => params(page).get('from') === 'now-6h' && !params(page).has('to'));
    await page.getByRole('button', { name: /Last 6 hours/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Time range' });
    await dialog.getByLabel('From').fill('2026-01-05T09:00:00');
    await dialog.getByLabel('To').fill('2026-01-05T11:00:00');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    // New York wall-clock time in the form, UTC in the URL.
    await until('an absolute range', async () => params(page).get('from') === '2026-01-05T14:00:00.000Z' && params(page).get('to') === '2026-01-05T16:00:00.000Z');
    await until('the January record', async () => (await loaded(page)) === 1);
    await page.getByRole('button', { name: /2026-01-05 09:00:00/ }).click();
    await page.getByRole('dialog', { name: 'Time range' }).getByLabel('Relative start').fill('now-90m');
    await page.getByRole('dialog', { name: 'Time range' }).getByLabel('Relative start').press('Enter');
    await until('a typed relative range', async () => params(page).get('from') === 'now-90m' && !params(page).has('to'));
    await page.context().close();
  });

  test('timestamps show in the viewer\'s zone, UTC on hover and on the toggle', async () => {
    const page = await open('/?q=service:tz&from=2026-01-05T00:00:00Z&to=2026-01-06T00:00:00Z');
    const ts = page.locator('.rec .ts').first();
    await ts.waitFor();
    assert.equal(await ts.innerText(), '01-05 10:04:05.123', 'New York is UTC-5 in January');
    assert.equal(await ts.getAttribute('title'), '2026-01-05 15:04:05.123456789Z (UTC)');
    await page.getByRole('button', { name: 'Time zone' }).click();
    await until('UTC times', async () => (await ts.innerText()) === '01-05 15:04:05.123');
    await page.context().close();
  });

  test('10,000+ results scroll through a virtualized list', async () => {
    const bulk = Array.from({ length: 12_000 }, (_, i) => ({ ts: new Date(Date.now() - 40 * 60_000 + i * 100).toISOString(), message: `bulk line ${i}`, service: 'bulk' }));
    for (let i = 0; i < bulk.length; i += 4000) assert.equal((await postLogs(server.url, bulk.slice(i, i + 4000))).status, 200);
    const page = await open('/?q=service:bulk');
    const list = page.getByRole('grid', { name: 'Matching records' });
    await page.locator('.rec').first().waitFor();
    let maxRows = 0;
    await until(
      'the end of 12,000 results',
      async () => {
        await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
        maxRows = Math.max(maxRows, await page.locator('.rec').count());
        return (await page.locator('.list-end').innerText()).includes('End of results (12,000)');
      },
      120_000,
    );
    await until('the oldest record at the bottom', async () => {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      return (await page.locator('.rec').last().locator('.msg').innerText()) === 'bulk line 0';
    });
    assert.ok(maxRows < 150, `only the rows in view exist (at most ${maxRows})`);
    await screenshot(page, 'explore-12000');
    await page.context().close();
  });
});

describe('hostile log lines', () => {
  test('HTML, scripts, ANSI codes, long lines and invalid UTF-8 are shown as text and never interpreted', async () => {
    const long = `long-line ${'x'.repeat(200_000)} end-of-long-line`;
    const hostile = [
      ...Object.values(HOSTILE).map((message) => ({ message, host: 'hostile', service: HOSTILE.img, level: 'err' })),
      { message: long, host: 'hostile' },
      { message: 'attr keys too', host: 'hostile', attrs: { [HOSTILE.img]: HOSTILE.script, nested: { '<b>bold</b>': HOSTILE.svg } } },
    ];
    assert.equal((await postLogs(server.url, hostile)).status, 200);
    // Invalid UTF-8 arrives as raw bytes in a text/plain body.
    const bytes = Buffer.concat([Buffer.from('bad bytes: '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from(' end\n')]);
    const res = await fetch(`${server.url}/api/v1/logs?host=hostile`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: bytes });
    assert.equal(res.status, 200, JSON.stringify(await json(res)));

    const page = await open('/?q=host:hostile');
    await until('all hostile rows', async () => (await rowTexts(page)).length === hostile.length + 1);
    const rows = await rowTexts(page);
    // Shown literally.
    for (const text of [HOSTILE.script, HOSTILE.img, HOSTILE.svg, HOSTILE.iframe, HOSTILE.template]) {
      assert.ok(rows.some((r) => r.includes(text)), `row shows ${text}`);
    }
    // ANSI sequences are removed from the list, the text stays; bidi overrides are shown, not obeyed.
    const ansiRow = rows.find((r) => r.includes('RED ALERT'))!;
    assert.ok(ansiRow.includes('RED ALERT after-clear') && !ansiRow.includes('\u001b') && !ansiRow.includes('[31'), ansiRow);
    assert.ok(rows.some((r) => r.includes('invoice⟦U+202E⟧fdp.exe')));
    assert.ok(rows.some((r) => r.includes('bad bytes: \ufffd')), 'invalid UTF-8 shows as replacement characters');
    assert.ok(rows.some((r) => r.includes('long-line xxxx')));
    await screenshot(page, 'hostile-list');

    // Expanded: every escape visible, every field and key as text.
    await page.locator('.rec', { hasText: 'RED ALERT' }).locator('.line').click();
    const detail = page.locator('.detail');
    await detail.waitFor();
    const detailText = await detail.innerText();
    assert.ok(detailText.includes('␛[31;1mRED ALERT␛[0m ␛]0;owned title␇␛[2Jafter-clear'), 'escape characters visible in the expanded record');
    assert.ok(detailText.includes(HOSTILE.img), 'the hostile service value as text');
    await page.locator('.rec', { hasText: 'attr keys too' }).locator('.line').click();
    const attrsDetail = page.locator('.detail');
    await until('attrs detail', async () => (await attrsDetail.innerText()).includes(`attrs.${HOSTILE.img}`));
    assert.ok((await attrsDetail.innerText()).includes('attrs.nested.<b>bold</b>'));
    await page.locator('.rec', { hasText: 'long-line' }).locator('.line').click();
    await until('the long line expanded', async () => (await page.locator('.detail').innerText()).includes('more characters (see the raw form)'));
    await noHorizontalOverflow(page);
    await screenshot(page, 'hostile-expanded');

    // Nothing ran, nothing was injected.
    await page.waitForTimeout(500);
    const state = await page.evaluate(() => {
      type El = { attributes: Iterable<{ name: string }>; outerHTML: string; getAttribute(name: string): string | null };
      const all: El[] = [...document.querySelectorAll('*')];
      return {
        pwned: window.__pwned ?? null,
        scripts: document.querySelectorAll('script').length as number,
        iframes: document.querySelectorAll('iframe').length as number,
        imgs: ([...document.querySelectorAll('img')] as El[]).map((i) => i.getAttribute('src') ?? ''),
        bold: document.querySelectorAll('#root b').length as number,
        handlers: all.filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).map((el) => el.outerHTML.slice(0, 80)),
        csp: window.__csp,
        title: document.title as string,
      };
    });
    assert.deepEqual(
      { ...state, imgs: state.imgs.length },
      { pwned: null, scripts: 1, iframes: 0, imgs: 1, bold: 0, handlers: [], csp: [], title: 'Explore: host:hostile · Cairn' },
    );
    assert.match(state.imgs[0]!, /^\/assets\/favicon-.*\.svg$/, 'the one image is the logo');
    assert.deepEqual(problems(page).dialogs, []);
    assert.deepEqual(problems(page).errors, []);
    await page.context().close();
  });
});

describe('views', () => {
  test('live tail shows a newly ingested line, counts the rate, and holds lines while paused', async () => {
    const page = await open('/live?q=service:live');
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    assert.equal((await postLogs(server.url, [{ message: 'fresh line one', service: 'live' }, { message: 'not this one', service: 'other' }])).status, 200);
    await page.locator('.rec', { hasText: 'fresh line one' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.rec', { hasText: 'not this one' }).count(), 0);
    await until('a rate above zero', async () => !/^0\.0 /.test(await page.getByLabel('Rate').innerText()));
    await page.getByRole('button', { name: 'Pause' }).click();
    await postLogs(server.url, [{ message: 'fresh line two', service: 'live' }]);
    await page.getByRole('button', { name: /Resume \(1 new\)/ }).waitFor();
    assert.equal(await page.locator('.rec', { hasText: 'fresh line two' }).count(), 0);
    await screenshot(page, 'live-paused');
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.locator('.rec', { hasText: 'fresh line two' }).waitFor();
    await screenshot(page, 'live');
    assert.deepEqual(problems(page).errors, []);
    await page.context().close();
  });

  test('live tail with a query the server refuses says why', async () => {
    const page = await open('/live?q=%28unclosed');
    await page.getByRole('status').filter({ hasText: /Disconnected: .*unclosed/ }).waitFor();
    await page.context().close();
  });

  test('patterns lists templates with counts and sparklines, new ones marked, and drills into one', async () => {
    const page = await open('/patterns');
    const rows = page.locator('section[aria-label="Patterns"] tbody tr');
    await rows.first().waitFor();
    const texts = await rows.allInnerTexts();
    assert.ok(texts.some((t) => t.includes('GET <*> took <*>')), texts.slice(0, 5).join('\n'));
    assert.ok((await page.locator('section[aria-label="Patterns"] .badge.new').count()) > 0, 'templates first seen in the range are marked');
    // Sparklines load after the table (one stats request per template): wait for them.
    await page.locator('section[aria-label="Patterns"] .sparkline polyline').first().waitFor();
    await screenshot(page, 'patterns');
    await rows.filter({ hasText: 'GET <*> took <*>' }).click();
    await until('Explore on the template', async () => new URL(page.url()).pathname === '/' && /template_id:/.test(params(page).get('q') ?? ''));
    await until('its records', async () => (await loaded(page)) === 300);
    await page.context().close();
  });

  test('related: the same trace across hosts and systems, and the neighbours on the host', async () => {
    const [record] = (await query(server.url, { q: 'trace_id:trace-ui-1 host:web-1', limit: '10' })).body.records as { id: string }[];
    const page = await open('/?q=trace_id:trace-ui-1');
    await page.locator(`.rec[data-id="${record!.id}"] .line`).click();
    await page.getByRole('link', { name: 'Related records' }).click();
    await until('the related view', async () => new URL(page.url()).pathname === '/related' && params(page).get('id') === record!.id);
    const trace = page.locator('section[aria-label="same trace_id"]');
    await trace.locator('.rec').first().waitFor();
    assert.equal(await trace.getByRole('grid').getAttribute('aria-rowcount'), '2');
    assert.deepEqual((await trace.locator('.rec .msg').allInnerTexts()).sort(), ['payment for order 77 declined', 'retrying order 77']);
    const neighbours = page.locator('section[aria-label^="same host within"]');
    await neighbours.locator('.rec').first().waitFor();
    assert.ok((await neighbours.locator('.rec .src').allInnerTexts()).every((t) => t.startsWith('web-1')));
    const chips = await page.locator('section[aria-label="Hosts and systems"] .chip').allInnerTexts();
    for (const chip of ['WIN-PAY01', 'web-1', 'web-2', 'linux', 'windows']) assert.ok(chips.includes(chip), `${chip} in ${chips}`);
    await screenshot(page, 'related');
    // A wider neighbour window is a URL parameter the server honours.
    await page.getByLabel('Neighbour window').selectOption('300');
    await until('window in the URL', async () => params(page).get('window') === '300');
    await neighbours.locator('.rec').first().waitFor();
    await page.context().close();
  });

  test('anomalies: the records the anomaly stage writes, with their evidence', async () => {
    // Its own server: anomalies need a short bucket and no learning period to show up in a test.
    const watched = await startTestServer({ pipeline: { anomalies: { bucket: '1s', learning_period: 0 } } });
    try {
      assert.equal((await postLogs(watched.url, [{ host: 'web-1', service: 'shop', message: 'payment provider timeout after 30s' }])).status, 200);
      await until('the anomaly record', async () => (await query(watched.url, { q: 'attrs.anomaly.kind:*' })).body.records.length === 1);
      const context = await browser.newContext({ viewport: WIDE });
      const page = await context.newPage();
      await page.goto(`${watched.url}/patterns`);
      const row = page.locator('section[aria-label="Anomalies"] tbody tr').first();
      await row.waitFor();
      const text = await row.innerText();
      for (const part of ['new_template', 'shop', 'payment provider timeout after <*>']) assert.ok(text.includes(part), `${part} in ${text}`);
      await screenshot(page, 'patterns-anomalies');
      await row.click();
      await until('the anomaly\'s related records', async () => new URL(page.url()).pathname === '/related');
      await page.locator('section[aria-label="Record"] .detail').waitFor();
      await context.close();
    } finally {
      await watched.stop();
    }
  });

  test('system: ingest per source, errors, storage per day, and a connected agent', async () => {
    await postLogs(server.url, '{"message": not json\n');
    const client = grpcClient('cairn.agent.v1.AgentIngest', grpcAddress);
    const stream = new AgentStream(client, metadata({ 'x-cairn-agent-id': 'agent-ui', 'x-cairn-hostname': 'srv-ui.example', 'x-cairn-agent-version': '1.2.3' }));
    stream.send(1, [{ message: 'from the agent', host: 'srv-ui' }], { backlogRecords: '5', backlogBytes: '100', lagMs: '1500' });
    await stream.ack(1);
    try {
      const page = await open('/system');
      const http = page.locator('section[aria-label="Ingest by source"] tr[data-source="http"]');
      await http.waitFor();
      assert.match(await http.innerText(), /http/);
      await page.locator('section[aria-label="Recent errors"]', { hasText: 'invalid_json' }).waitFor();
      const agent = page.locator('section[aria-label="Agents"] tbody tr', { hasText: 'srv-ui.example' });
      await agent.waitFor();
      const agentText = await agent.innerText();
      assert.ok(agentText.includes('1.2.3') && agentText.includes('1.5s') && agentText.includes('connected'), agentText);
      const today = new Date().toISOString().slice(0, 10);
      await page.locator('section[aria-label="Storage per day"] td', { hasText: today }).waitFor();
      await screenshot(page, 'system');
      await page.setViewportSize(NARROW);
      await noHorizontalOverflow(page);
      await screenshot(page, 'system-narrow');
      await page.context().close();
    } finally {
      stream.close();
      client.close();
    }
  });
});

describe('look and feel', () => {
  test('light and dark themes: the system preference, then the toggle', async () => {
    const page = await open('/');
    await page.locator('.rec').first().waitFor();
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await bg();
    await screenshot(page, 'explore-light');
    await page.getByRole('button', { name: 'Toggle theme' }).click();
    await until('the dark theme', async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark' && (await bg()) !== light);
    await screenshot(page, 'explore-dark');
    await page.context().close();
    const dark = await open('/patterns', { colorScheme: 'dark' });
    await dark.locator('section[aria-label="Patterns"]').waitFor();
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await screenshot(dark, 'patterns-dark');
    await dark.context().close();
  });

  test('usable on a narrow screen: nothing overflows, fields behind a toggle, records expand', async () => {
    const page = await open('/', { viewport: NARROW, isMobile: true, hasTouch: true });
    await page.locator('.rec').first().waitFor();
    await noHorizontalOverflow(page);
    assert.equal(await page.locator('aside.sidebar').isVisible(), false);
    await page.getByRole('button', { name: 'Fields' }).click();
    await page.locator('aside.sidebar').waitFor({ state: 'visible' });
    await screenshot(page, 'explore-narrow-fields');
    await page.getByRole('button', { name: 'Fields' }).click();
    await page.locator('.rec .line').first().click();
    await page.locator('.detail').waitFor();
    await noHorizontalOverflow(page);
    await screenshot(page, 'explore-narrow');
    await page.context().close();
  });
});

describe('token login', () => {
  test('a server that requires tokens asks for one, keeps it for the session, uses it for live tail, and signs out', async () => {
    const secured = await startTestServer({ auth: { mode: 'token' } });
    try {
      const { token: read } = secured.auth.tokens.create({ tenant: 'default', role: 'read' });
      const { token: ingest } = secured.auth.tokens.create({ tenant: 'default', role: 'ingest' });
      await postLogs(secured.url, [{ message: 'behind a token', service: 'secure' }], { authorization: `Bearer ${ingest}` });
      const context = await browser.newContext({ viewport: WIDE });
      const page = await context.newPage();
      await page.goto(`${secured.url}/?q=service:secure`);
      const form = page.getByRole('form', { name: 'Sign in' });
      await form.waitFor();
      await screenshot(page, 'login');
      await form.getByLabel('Token').fill('cairn_000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
      await form.getByRole('button', { name: 'Sign in' }).click();
      await form.getByRole('alert').waitFor();
      assert.match(await form.getByRole('alert').innerText(), /refused/);
      await form.getByLabel('Token').fill(read);
      await form.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.rec', { hasText: 'behind a token' }).waitFor();
      assert.equal(await page.evaluate(() => [sessionStorage.getItem('cairn.token') !== null, localStorage.getItem('cairn.token')]).then(JSON.stringify), '[true,null]');
      // Live tail authenticates its WebSocket with the same token.
      await page.getByRole('link', { name: 'Live tail' }).click();
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
      await postLogs(secured.url, [{ message: 'tailed behind a token', service: 'secure' }], { authorization: `Bearer ${ingest}` });
      await page.locator('.rec', { hasText: 'tailed behind a token' }).waitFor({ timeout: 10_000 });
      await page.getByRole('button', { name: 'Sign out' }).click();
      await form.waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem('cairn.token')), null);
      await context.close();
    } finally {
      await secured.stop();
    }
  });
});
