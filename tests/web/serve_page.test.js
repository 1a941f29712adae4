// A real browser on the search page: Debian's chromium, headless, driven by puppeteer-core.
// Usage: node serve_page.test.js XSEARCH_BINARY MODEL_DIR SCREENSHOT.png
// Makes two small videos, ingests them with the tiny model, starts `xsearch serve` on a free loopback
// port, then: types a query, checks the thumbnails loaded, opens a result and checks that the <video>
// plays inside the segment, follows "more like this", and saves a screenshot of the results.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [xsearch, model, screenshot] = process.argv.slice(2);
const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} is not installed (scripts/setup.sh installs Debian's chromium)`);
  process.exit(77);
}
const puppeteer = require('puppeteer-core');

function fail(message) {
  console.error('FAIL: ' + message);
  process.exitCode = 1;
  throw new Error(message);
}

async function waitFor(what, seconds, check) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) fail(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xsearch-web-'));
  const videos = path.join(tmp, 'videos');
  fs.mkdirSync(videos);
  for (const [name, source] of [['bars.mp4', 'smptebars'], ['pattern.mp4', 'testsrc2']])
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `${source}=size=320x240:rate=25`, '-t', '12',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', path.join(videos, name)]);
  // A file the browser cannot play (MPEG-4 Part 2 in AVI): the page plays a rendition of the segment.
  const avi = path.join(videos, 'old.avi');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'smptehdbars=size=320x240:rate=25', '-t', '12',
    '-c:v', 'mpeg4', '-q:v', '4', avi]);
  const db = path.join(tmp, 'lib.db');
  execFileSync(xsearch, ['ingest', videos, '--db', db, '--model', model, '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });

  const server = spawn(xsearch, ['serve', '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let browser;
  try {
    let out = '';
    server.stdout.on('data', (d) => { out += d; });
    const url = await waitFor('the server URL', 60, () => (out.match(/http:\/\/127\.0\.0\.1:\d+\//) || [])[0]);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--autoplay-policy=no-user-gesture-required', `--user-data-dir=${path.join(tmp, 'profile')}`],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 700 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });

    // '/' focuses the search box, then type a query.
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press('/');
    await page.keyboard.type('colour bars');
    const typed = await page.$eval('#q', (q) => q.value);
    if (typed !== 'colour bars') fail(`'/' should focus the search box, not type into it: "${typed}"`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.card img', { timeout: 60000 });
    const count = await page.$$eval('.card', (c) => c.length);
    if (count < 2) fail(`expected at least 2 results, got ${count}`);
    await waitFor('thumbnails to load', 60, () => page.$$eval('.card img',
      (imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0)));
    const widths = await page.$$eval('.card img', (imgs) => imgs.map((i) => i.naturalWidth));
    console.log(`results: ${count}, thumbnail widths ${widths.join(' ')}`);
    await page.screenshot({ path: screenshot });

    // Open the second result (a segment that does not start at 0) with the keyboard: arrow, Enter.
    const hits = await page.evaluate(() => fetch('/api/query?q=colour%20bars&k=24').then((r) => r.json()));
    let index = hits.results.findIndex((h) => h.start > 0 && !h.play.rendition);
    if (index < 0) index = hits.results.findIndex((h) => !h.play.rendition);
    const hit = hits.results[index];
    await page.evaluate(() => document.activeElement.blur());
    for (let i = 0; i < index; ++i) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#player:not([hidden])');
    const t = await waitFor('the video to play inside its segment', 30, () => page.$eval('#video', (v, s) => {
      const inside = v.currentTime >= s.start - 0.05 && v.currentTime <= s.end + 0.05;
      return inside && v.currentTime > s.start + 0.2 && v.readyState >= 2 ? v.currentTime : 0;
    }, { start: hit.start, end: hit.end }));
    console.log(`playing ${hit.path} at ${t.toFixed(2)} s, segment ${hit.start}-${hit.end}`);

    // "More like this" from the player: the clip itself comes first.
    await page.click('#player-like');
    await waitFor('"more like this" results', 60, () => page.$eval('#status', (s) => s.textContent.startsWith('') && s.textContent.includes('clips like')));
    await page.waitForSelector('.card img');
    const first = await page.$eval('.card .name', (n) => n.title);
    if (first !== hit.path) fail(`"more like this" put ${first} first, not ${hit.path}`);

    // The AVI plays through its rendition: the <video> decodes it (a picture size) and its time advances
    // inside the rendition's span.
    await page.goto(url + '?q=' + encodeURIComponent('colour bars'), { waitUntil: 'load' });
    await page.waitForSelector('.card img', { timeout: 60000 });
    const names = await page.$$eval('.card .name', (n) => n.map((x) => x.title));
    const aviIndex = names.indexOf(avi);
    if (aviIndex < 0) fail(`no result for ${avi} among ${names.join(', ')}`);
    const aviHit = (await page.evaluate(() => results))[aviIndex];
    if (!aviHit.play.rendition) fail('the AVI hit should play through a rendition');
    await page.click(`.card[data-index="${aviIndex}"] img`);
    const played = await waitFor('the rendition to play', 60, () => page.$eval('#video', (v, end) => {
      const ok = v.src.includes('/api/renditions/') && v.videoWidth > 0 && v.currentTime > 0.2 && v.currentTime <= end + 0.05;
      return ok ? { t: v.currentTime, w: v.videoWidth, h: v.videoHeight } : null;
    }, aviHit.play.end));
    console.log(`rendition of ${avi} playing at ${played.t.toFixed(2)} s, ${played.w}x${played.h}`);
    if (errors.length) fail('page errors: ' + errors.join('; '));
    console.log('PASS: query, thumbnails, player, more like this, rendition; screenshot ' + screenshot);
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  if (!process.exitCode) console.error(e);
  process.exitCode = 1;
});
