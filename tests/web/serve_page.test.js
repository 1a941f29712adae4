// A real browser on the search page: Debian's chromium, headless, driven by puppeteer-core.
// Usage: node serve_page.test.js XSEARCH_BINARY MODEL_DIR SCREENSHOT.png
// Makes small videos (one with a hostile name in a folder with a space), ingests them with the tiny
// model, starts `xsearch serve` on a free loopback port, then checks the start page (summary, recent
// videos newest first, a random sample), types a query, checks the thumbnails loaded, opens a result and
// checks that the <video> plays inside the segment, follows "more like this", Back and reload, load more,
// filters and grouping in the URL, the zero-results hint, the rendition, the drop zone (a picked still, a
// dropped file, a reload's note), and the default port's fallback.
// With XSEARCH_SCREENSHOTS=DIR it also saves DIR/serve-start.png, DIR/serve-results.png and
// DIR/serve-drop.png (README).
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

// Starts `xsearch serve ARGS` and resolves with its URL, or with null and its stderr when it exits first.
function startServe(args) {
  const p = spawn(xsearch, ['serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) { clearInterval(timer); resolve({ p, port: Number(m[1]), err: () => err }); }
    }, 100);
    p.on('exit', (code) => { clearInterval(timer); resolve({ p: null, port: 0, code, err: () => err }); });
  });
}

// Without --port: 8765, or the next free port after it; a port asked for and taken is an error.
async function defaultPort(db) {
  const a = await startServe(['--db', db]);
  const b = await startServe(['--db', db]);
  try {
    if (!a.p || !b.p) {
      // Another program holds 8765-8774 on this machine: the fallback cannot be shown here.
      if (/cannot listen on 127\.0\.0\.1:8765-8774/.test(a.err() + b.err())) return console.log('default port: 8765-8774 all taken here; not checked');
      fail(`serve without --port did not start: ${a.err()} ${b.err()}`);
    }
    for (const s of [a, b]) {
      if (s.port < 8765 || s.port > 8774) fail(`default port: ${s.port} is not 8765-8774`);
      if ((s.port !== 8765) !== /port 8765 is taken/.test(s.err())) fail(`default port ${s.port}: stderr "${s.err()}"`);
    }
    if (a.port === b.port) fail(`two servers on one port ${a.port}`);
    const c = await startServe(['--db', db, '--port', String(b.port)]);
    if (c.p) { c.p.kill('SIGTERM'); fail(`--port ${b.port} was taken but serve started on ${c.port}`); }
    if (!c.err().includes(`cannot listen on 127.0.0.1:${b.port} `)) fail(`--port taken: stderr "${c.err()}"`);
    console.log(`default ports ${a.port} and ${b.port}; --port ${b.port} taken refused`);
  } finally {
    for (const s of [a, b]) if (s.p) s.p.kill('SIGTERM');
  }
}

// The drop zone: a file picked with "Image or video…" (a real file input) and a file dropped on the page (a
// synthesized drop event with a DataTransfer) search with it; the URL holds its name only, so a reload asks
// for the file again; a text in the box combines with it.
async function dropExample(page, url, videos, tmp, shots) {
  const still = path.join(tmp, 'still.png');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-ss', '5', '-i', path.join(videos, 'bars.mp4'), '-frames:v', '1', still]);
  await page.goto(url, { waitUntil: 'load' });
  const input = await page.$('#file');
  await input.uploadFile(still);
  await waitFor('results for the picked still', 120, () => page.$eval('#status', (s) => s.textContent.includes(' for like still.png')));
  await page.waitForSelector('#results .card img');
  const first = await page.$eval('#results .card .name', (n) => n.title);
  if (first !== path.join(videos, 'bars.mp4')) fail(`a still of the bars put ${first} first`);
  if (!page.url().endsWith('?drop=still.png')) fail(`the URL should name the dropped file: ${page.url()}`);
  if ((await page.$eval('#like-text', (t) => t.textContent)) !== 'like still.png') fail('the example is not shown beside the box');
  await waitFor('thumbnails of the drop', 60, () => page.$$eval('#results .card img', (imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0)));
  if (shots) await page.screenshot({ path: path.join(shots, 'serve-drop.png') });
  // A text with the example: both in the status, the weight box shown.
  await page.type('#q', 'colour bars');
  await page.click('#search button[type=submit]');
  await waitFor('text + dropped file', 120, () => page.$eval('#status', (s) => s.textContent.includes('“colour bars” + like still.png')));
  if (await page.$eval('#weight-box', (b) => b.hidden)) fail('the example weight is hidden with an example');
  // Reload: the bytes are gone; the page says to drop the file again.
  await page.reload({ waitUntil: 'load' });
  const note = await waitFor('the drop-again note', 30, () => page.$eval('#hint', (h) => (h.hidden ? null : h.textContent)));
  if (!note.includes('“still.png”') || !note.includes('drop it again')) fail(`after reload: "${note}"`);
  // A drop onto the page: the overlay shows while dragging, and the drop searches with the file.
  await page.goto(url, { waitUntil: 'load' });
  const overlay = await page.evaluate(async () => {
    const blob = await (await fetch('/api/thumbnails/1')).blob();
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'thumb one.jpg', { type: 'image/jpeg' }));
    document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const shown = !document.getElementById('drop-zone').hidden;
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    return shown && document.getElementById('drop-zone').hidden;
  });
  if (!overlay) fail('the drop zone did not show while dragging, or stayed after the drop');
  await waitFor('results for the dropped file', 120, () => page.$eval('#status', (s) => s.textContent.includes(' for like thumb one.jpg')));
  if (!page.url().endsWith('?drop=thumb+one.jpg')) fail(`the URL after a drop: ${page.url()}`);
  console.log('drop zone: picked still, text + still, reload note, dropped thumbnail');
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
  // A name that is HTML, in a folder whose name has a space: shown as text, folder and all.
  const holiday = path.join(videos, 'Holiday 2024');
  fs.mkdirSync(holiday);
  const hostileName = '<img src=x onerror="window.__xss=1">.mp4';
  const hostile = path.join(holiday, hostileName);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'rgbtestsrc=size=320x240:rate=25', '-t', '6',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', hostile]);
  // Newest last: the start page's "recent videos" put it first.
  const now = Date.now() / 1000;
  for (const [f, age] of [[path.join(videos, 'bars.mp4'), 400], [path.join(videos, 'pattern.mp4'), 300], [avi, 200], [hostile, 100]])
    fs.utimesSync(f, now - age, now - age);
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

    // The start page: a summary, the newest videos first, a random sample; every picture loads.
    const summary = await waitFor('the library summary', 30, () => page.$eval('#start', (s) => {
      const m = s.querySelector('#summary');
      return m && s.querySelectorAll('.grid .card img').length ? m.textContent : '';
    }));
    if (!/^4 videos · \d+ clips · model \S+.* · [\d.]+ (KB|MB)$/.test(summary)) fail(`start page summary: "${summary}"`);
    const recent = await page.$$eval('#start .grid', (g) => [...g[0].querySelectorAll('.card .name')].map((x) => x.title));
    const expected = [hostile, avi, path.join(videos, 'pattern.mp4'), path.join(videos, 'bars.mp4')];
    if (recent.join('|') !== expected.join('|')) fail(`recent videos, newest first: ${recent.join(', ')}`);
    const sampled = await page.$$eval('#start .grid', (g) => g[1].querySelectorAll('.card').length);
    if (sampled < 4) fail(`expected a random sample of at least 4 clips, got ${sampled}`);
    await waitFor('start page thumbnails', 60, () => page.$$eval('#start .card img', (imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0)));
    // The hostile name is text, with its folder shown on the card; nothing of it ran or became an element.
    const card = await page.$eval('#start .card', (c) => ({ name: c.querySelector('.name').textContent,
      folder: c.querySelector('.folder').textContent, whole: c.querySelector('.folder').title }));
    if (card.name !== hostileName || card.folder !== '…/videos/Holiday 2024' || card.whole !== holiday) fail(`card name/folder: ${JSON.stringify(card)}`);
    if (await page.evaluate(() => window.__xss !== undefined || document.querySelector('img[src="x"]') !== null)) fail('a file name was rendered as HTML');
    const shots = process.env.XSEARCH_SCREENSHOTS;
    if (shots) await page.screenshot({ path: path.join(shots, 'serve-start.png') });
    // Times and scores as the CLI prints them.
    const formats = await page.evaluate(() => [fmtTime(3690), fmtTime(59.96), fmtTime(75.04), fmtScore(-0.00004), fmtScore(-0.25)]);
    if (formats.join(' ') !== '1:01:30.0 1:00.0 1:15.0 0.0000 -0.2500') fail(`time/score formats: ${formats.join(' ')}`);

    // '/' focuses the search box, then type a query.
    await page.evaluate(() => document.activeElement.blur());
    await page.keyboard.press('/');
    await page.keyboard.type('colour bars');
    const typed = await page.$eval('#q', (q) => q.value);
    if (typed !== 'colour bars') fail(`'/' should focus the search box, not type into it: "${typed}"`);
    await page.keyboard.press('Enter');
    await waitFor('the results', 60, () => page.$eval('#status', (s) => / results? for /.test(s.textContent)));
    if (!page.url().endsWith('?q=colour+bars')) fail(`the URL should hold the query: ${page.url()}`);
    const count = await page.$$eval('.card', (c) => c.length);
    if (count < 2) fail(`expected at least 2 results, got ${count}`);
    await waitFor('thumbnails to load', 60, () => page.$$eval('.card img',
      (imgs) => imgs.every((i) => i.complete && i.naturalWidth > 0)));
    const widths = await page.$$eval('.card img', (imgs) => imgs.map((i) => i.naturalWidth));
    console.log(`results: ${count}, thumbnail widths ${widths.join(' ')}`);
    await page.screenshot({ path: screenshot });
    if (shots) await page.screenshot({ path: path.join(shots, 'serve-results.png') });

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
    await waitFor('"more like this" results', 60, () => page.$eval('#status', (s) => s.textContent.includes(' for like ')));
    await page.waitForSelector('.card img');
    const first = await page.$eval('.card .name', (n) => n.title);
    if (first !== hit.path) fail(`"more like this" put ${first} first, not ${hit.path}`);
    // The box and the URL follow: the example in the URL and beside the box, the text cleared.
    const likeUrl = page.url();
    const view = await page.evaluate(() => ({ q: document.getElementById('q').value, like: document.getElementById('like-text').textContent }));
    if (!/\?clip=\d+$/.test(likeUrl) || view.q !== '' || !view.like.startsWith('like ' + path.basename(hit.path)))
      fail(`after "more like this": URL ${likeUrl}, box "${view.q}", example "${view.like}"`);
    // Reload gives the same view; Back gives the text query again.
    await page.reload({ waitUntil: 'load' });
    await waitFor('the reloaded example', 60, () => page.$eval('#status', (s) => s.textContent.includes(' for like ')));
    if ((await page.$eval('.card .name', (n) => n.title)) !== hit.path) fail('reload lost the "more like this" view');
    await page.goBack({ waitUntil: 'load' });
    await waitFor('Back to the text query', 60, () => page.evaluate(() => document.getElementById('q').value === 'colour bars' &&
      document.getElementById('like').hidden && /“colour bars”/.test(document.getElementById('status').textContent)));

    // Load more: k grows in the URL and more results come.
    await page.goto(url + '?q=colour+bars&k=2', { waitUntil: 'load' });
    await waitFor('two results and "load more"', 60, () => page.evaluate(() => document.querySelectorAll('#results .card').length === 2 && !document.getElementById('more').hidden));
    await page.click('#more');
    await waitFor('more results', 60, () => page.$$eval('#results .card', (c) => c.length > 2));
    if (!page.url().endsWith('k=26')) fail(`load more should put k=26 in the URL: ${page.url()}`);

    // Filters and grouping in the URL; reload restores them; one card per video with its moments.
    await page.goto(url, { waitUntil: 'load' });
    await page.type('#q', 'colour bars');
    await page.type('#path', '*.mp4');
    await page.click('#group');
    await page.click('#search button[type=submit]');
    await waitFor('grouped results', 60, () => page.$eval('#status', (s) => / videos? for /.test(s.textContent)));
    if (!page.url().endsWith('?q=colour+bars&path=*.mp4&group=video')) fail(`filters in the URL: ${page.url()}`);
    await page.reload({ waitUntil: 'load' });
    await waitFor('grouped results after reload', 60, () => page.$eval('#status', (s) => / videos? for /.test(s.textContent)));
    const grouped = await page.evaluate(() => ({ path: document.getElementById('path').value, group: document.getElementById('group').checked,
      names: [...document.querySelectorAll('#results .card .name')].map((n) => n.title),
      moments: document.querySelectorAll('#results .card .moment').length }));
    if (grouped.path !== '*.mp4' || !grouped.group) fail(`reload lost the filters: ${JSON.stringify(grouped)}`);
    if (grouped.names.length !== 3 || new Set(grouped.names).size !== 3 || grouped.names.some((n) => !n.endsWith('.mp4')) || grouped.moments < 3)
      fail(`grouped by video: one card per .mp4 video with its moments: ${JSON.stringify(grouped)}`);

    // Zero results: the API's reason and a hint about the filter.
    await page.goto(url + '?q=colour+bars&path=nomatch', { waitUntil: 'load' });
    const hint = await waitFor('the zero-results hint', 60, () => page.$eval('#hint', (h) => (h.hidden ? null : {
      reason: h.querySelector('strong').textContent, text: h.textContent })));
    if (!/^No results: \S/.test(hint.reason) || !hint.text.includes('path filter “nomatch”')) fail(`zero-results hint: ${JSON.stringify(hint)}`);
    console.log(`zero results: ${hint.reason}`);

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
    await dropExample(page, url, videos, tmp, shots);
    if (errors.length) fail('page errors: ' + errors.join('; '));
    await defaultPort(db);
    for (const f of shots ? ['serve-start.png', 'serve-results.png', 'serve-drop.png'] : []) console.log(`screenshot ${f}: ${fs.statSync(path.join(shots, f)).size} bytes`);
    console.log('PASS: start page, query, thumbnails, player, more like this, URL state, load more, grouping, hint, rendition, drop zone, port; screenshot ' + screenshot);
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
