// The search page: a start page (library summary, recent videos, a random sample of clips), searches by
// text (/api/query), by a clip (/api/like), by a dropped image or video (/api/example, drop.js) or a text with an
// example, with filters, grouping and "load more"; the view's state lives in the URL, so that Back, reload
// and bookmarks give it again (a dropped file only by its name: reload asks for it again). Every name is shown through
// textContent, never as HTML: file names are hostile input.
'use strict';
const $ = (id) => document.getElementById(id);
const PAGE = 24;        // results asked for first, and added by each "load more"
const MAX_K = 1000;     // the API's bound on k
let results = [];       // the hits or clips shown, in the order of the .card elements
let selected = -1;
let stopAt = null;      // the segment's end while "playing the segment"; null after "keep watching"
let likeHit = null;     // the example clip of the view ({clip_id, path, start}), null without one
let dropped = null;     // the dropped file (a File) of this page's life: a URL cannot hold it
let seq = 0;            // the latest load: an older answer arriving late is dropped

// As the CLI prints times (cli/common.hpp format_time): m:ss.s, h:mm:ss.s from an hour on.
function fmtTime(seconds) {
  const total = Math.floor(seconds * 10 + 0.5);
  const tenths = total % 10, s = Math.floor(total / 10) % 60, m = Math.floor(total / 600) % 60, h = Math.floor(total / 36000);
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}.${tenths}` : `${m}:${ss}.${tenths}`;
}

// Four decimals as the CLI prints them; a score that rounds to zero is 0.0000, never -0.0000.
function fmtScore(x) {
  const s = x.toFixed(4);
  return Number(s) === 0 ? '0.0000' : s;
}

function fmtBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function baseName(p) { return p.split('/').pop(); }
function dirName(p) { const i = p.lastIndexOf('/'); return i > 0 ? p.slice(0, i) : '/'; }
// The folder's last two names, which tell videos apart (the whole path is the tooltip).
function shortDir(d) {
  const parts = d.split('/');
  return parts.length > 3 ? '…/' + parts.slice(-2).join('/') : d;
}

// ---- state <-> URL ----------------------------------------------------------------------------------
// q: text; clip: the example clip's id; drop: the dropped file's name; w: the example's weight with a
// text; path, min: filters; group: "video" or absent; k: results shown.
function stateFromUrl() {
  const p = new URLSearchParams(location.search);
  const k = Math.min(MAX_K, Math.max(1, parseInt(p.get('k'), 10) || PAGE));
  return { q: p.get('q') || '', clip: p.get('clip') || '', drop: p.get('drop') || '', w: p.get('w') || '',
    path: p.get('path') || '', min: p.get('min') || '', group: p.get('group') === 'video' ? 'video' : '', k };
}

function urlOf(st) {
  const p = new URLSearchParams();
  for (const key of ['q', 'clip', 'drop', 'w', 'path', 'min', 'group']) if (st[key]) p.set(key, st[key]);
  if (st.k !== PAGE) p.set('k', st.k);
  const s = p.toString();
  return s ? '?' + s : location.pathname;
}

function currentState() {
  return { q: $('q').value.trim(), clip: likeHit ? String(likeHit.clip_id) : '', drop: !likeHit && dropped ? dropped.name : '',
    w: $('weight').value, path: $('path').value, min: $('min-score').value, group: $('group').checked ? 'video' : '', k: PAGE };
}

let state = stateFromUrl();

// A new view: a new history entry (Back returns to the one before), then shown.
function navigate(st) {
  state = st;
  history.pushState(null, '', urlOf(st));
  show();
}

// Shows `state`: the inputs hold it, then the start page or the search it describes.
function show() {
  $('q').value = state.q;
  $('path').value = state.path;
  $('min-score').value = state.min;
  $('group').checked = state.group === 'video';
  $('weight').value = state.w;
  if (!state.clip) likeHit = null;
  else if (!likeHit || String(likeHit.clip_id) !== state.clip) likeHit = { clip_id: Number(state.clip), path: '', start: null };
  showLike();
  closePlayer();
  if (state.drop && (!dropped || dropped.name !== state.drop)) dropAgain();
  else if (state.q || state.clip || state.drop) runSearch();
  else startPage();
}

function showLike() {
  const drop = !likeHit && state.drop ? state.drop : '';
  $('like').hidden = !likeHit && !drop;
  $('like-text').textContent = drop ? `like ${drop}` : !likeHit ? '' : likeHit.path
    ? `like ${baseName(likeHit.path)} ${fmtTime(likeHit.start)}` : `like clip ${likeHit.clip_id}`;
  $('weight-box').hidden = $('like').hidden;
}

// ---- loading ----------------------------------------------------------------------------------------
async function getJson(url) {
  const r = await fetch(url);
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

async function runSearch() {
  const p = new URLSearchParams({ k: String(state.k) });
  if (state.min !== '') p.set('min_score', state.min);
  if (state.path !== '') p.set('path', state.path);
  if (state.group) p.set('group', 'video');
  if (state.q) p.set('q', state.q);
  if (state.clip) p.set('clip', state.clip);
  if ((state.clip || state.drop) && state.q && state.w !== '') p.set('weight', state.w);
  const drop = !state.clip && state.drop && dropped;
  if (drop) p.set('name', dropped.name);
  const url = (state.clip ? '/api/like?' : drop ? '/api/example?' : '/api/query?') + p;
  const mine = ++seq;
  $('status').textContent = drop ? `Searching with ${dropped.name}…` : 'Searching…';
  $('hint').hidden = true;
  const t0 = performance.now();
  let data;
  try {
    data = drop ? await postFile(url, dropped) : await getJson(url);
  } catch (e) {
    if (mine === seq) $('status').textContent = 'Error: ' + e.message;
    return;
  }
  if (mine !== seq) return;
  if (data.example && likeHit && data.example.path) {
    likeHit.path = data.example.path;
    likeHit.start = data.example.start;
    showLike();
  }
  results = data.results;
  const ms = Math.round(performance.now() - t0);
  const what = [state.q ? `“${state.q}”` : '', $('like').hidden ? '' : $('like-text').textContent].filter(Boolean).join(' + ');
  const unit = state.group ? 'video' : 'result';
  $('status').textContent = `${results.length} ${unit}${results.length === 1 ? '' : 's'} for ${what} (${ms} ms)` +
    (data.truncated ? ' — the text was cut at the model\'s length' : '');
  $('start').textContent = '';
  if (!results.length) showHint(data.no_results);
  renderCards($('results'), results, 0);
  // More may follow while the API gave all that was asked for.
  $('more').hidden = results.length < state.k || state.k >= MAX_K;
  select(results.length ? 0 : -1, false);
}

// Zero results: the API's reason, and what to change.
function showHint(reason) {
  const tips = [];
  if (state.path) tips.push(`Clear or change the path filter “${state.path}”.`);
  if (state.min !== '') tips.push(`No score reached ${state.min}: lower the min score or clear it.`);
  if (!tips.length) tips.push('Try other words, or a broader description.');
  const hint = $('hint');
  hint.textContent = '';
  const head = document.createElement('strong');
  head.textContent = 'No results' + (reason ? ': ' + reason : '.');
  hint.append(head);
  for (const t of tips) {
    const p = document.createElement('div');
    p.textContent = t;
    hint.append(p);
  }
  hint.hidden = false;
}

async function startPage() {
  const mine = ++seq;
  $('results').textContent = '';
  $('more').hidden = true;
  $('hint').hidden = true;
  $('status').textContent = '';
  let info, recent, sample;
  try {
    [info, recent, sample] = await Promise.all([getJson('/api/info'), getJson('/api/recent?n=8'), getJson('/api/sample?n=12')]);
  } catch (e) {
    if (mine === seq) $('status').textContent = 'Error: ' + e.message;
    return;
  }
  if (mine !== seq) return;
  const start = $('start');
  start.textContent = '';
  const summary = document.createElement('div');
  summary.id = 'summary';
  const parts = [`${info.videos} video${info.videos === 1 ? '' : 's'}`, `${info.clips} clips`];
  if (info.partial) parts.push(`${info.partial} partial`);
  if (info.failed) parts.push(`${info.failed} failed`);
  parts.push(`model ${info.model ? baseName(info.model) : '(none yet)'}`, fmtBytes(info.size_bytes));
  summary.textContent = parts.join(' · ');
  start.append(summary);
  results = recent.results.concat(sample.results);
  if (!results.length) {
    const empty = document.createElement('p');
    empty.textContent = 'The library is empty: add videos with `xsearch ingest FOLDER`.';
    start.append(empty);
  }
  section(start, 'Recent videos', recent.results, 0);
  const shuffle = section(start, 'A random sample', sample.results, recent.results.length);
  if (shuffle) {
    const b = document.createElement('button');
    b.id = 'shuffle';
    b.textContent = 'Shuffle';
    b.addEventListener('click', () => startPage());
    shuffle.append(b);
  }
  select(-1, false);
}

// A titled grid of cards on the start page; returns its heading (null when there is nothing to show).
function section(parent, title, items, offset) {
  if (!items.length) return null;
  const h = document.createElement('h2');
  h.textContent = title;
  const grid = document.createElement('div');
  grid.className = 'grid';
  parent.append(h, grid);
  renderCards(grid, items, offset);
  return h;
}

// ---- cards ------------------------------------------------------------------------------------------
function renderCards(grid, items, offset) {
  grid.textContent = '';
  items.forEach((hit, j) => {
    const i = offset + j;
    const card = document.createElement('div');
    card.className = 'card';
    card.tabIndex = 0;
    card.dataset.index = i;
    const img = document.createElement('img');
    img.src = hit.thumbnail;
    img.alt = baseName(hit.path);
    img.loading = 'lazy';
    img.addEventListener('click', () => openPlayer(hit));
    const meta = document.createElement('div');
    meta.className = 'meta';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = baseName(hit.path);
    name.title = hit.path;
    const folder = document.createElement('div');
    folder.className = 'folder';
    folder.textContent = shortDir(dirName(hit.path));
    folder.title = dirName(hit.path);
    const line = document.createElement('div');
    line.className = 'line';
    const when = document.createElement('span');
    when.textContent = hit.duration !== undefined ? `${fmtTime(hit.duration)} · ${hit.clips} clips` : `${fmtTime(hit.start)}–${fmtTime(hit.end)}`;
    line.append(when);
    if (hit.score !== undefined) {
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = `#${hit.rank}  ${fmtScore(hit.score)}`;
      line.append(score);
    }
    meta.append(name, folder, line);
    if (hit.moments && hit.moments.length) {
      // Grouped by video: its best moments, each played on its own.
      const moments = document.createElement('div');
      moments.className = 'moments';
      for (const m of hit.moments) {
        const b = document.createElement('button');
        b.className = 'moment';
        b.textContent = fmtTime(m.peak);
        b.title = `${fmtTime(m.start)}–${fmtTime(m.end)}  score ${fmtScore(m.score)}`;
        b.addEventListener('click', () => openPlayer(m));
        moments.append(b);
      }
      meta.append(moments);
    }
    const more = document.createElement('button');
    more.className = 'like';
    more.textContent = 'More like this';
    more.addEventListener('click', () => like(hit));
    meta.append(more);
    card.append(img, meta);
    card.addEventListener('focus', () => select(i, false));
    grid.append(card);
  });
}

// "More like this": the clip becomes the view's example (the text box is cleared: the clip is the query).
function like(hit) {
  likeHit = { clip_id: hit.clip_id, path: hit.path, start: hit.peak !== undefined ? hit.peak : hit.start };
  dropped = null;
  const st = currentState();
  st.q = '';
  navigate(st);
}

function select(i, focus = true) {
  const cards = document.querySelectorAll('.card');
  cards.forEach((c) => c.classList.remove('selected'));
  selected = i;
  if (i >= 0 && cards[i]) {
    cards[i].classList.add('selected');
    if (focus) cards[i].focus();
  }
}

// ---- player -----------------------------------------------------------------------------------------
// How to play a hit: the original file from its best moment, or (for a file the browser cannot play) a
// rendition of the segment whose time 0 is the segment's start; `more` continues after a rendition.
function playOf(hit) {
  return hit.play || { url: hit.video, start: hit.start, end: hit.end, rendition: false };
}

let playing = null;     // the play object of the open player
let keepGoing = false;  // "keep watching" asked: a rendition's end moves on to `more`

function openPlayer(hit) {
  if (!hit) return;
  const i = results.indexOf(hit);
  if (i >= 0) select(i, false);
  const v = $('video');
  const play = playOf(hit);
  $('player-title').textContent = hit.path;
  $('player-segment').textContent = `${fmtTime(hit.start)}–${fmtTime(hit.end)}` +
    (hit.score !== undefined ? `  score ${fmtScore(hit.score)}` : '') +
    (play.rendition ? `  (converted for the browser: ${play.reason})` : '');
  $('player').hidden = false;
  playing = play;
  keepGoing = false;
  stopAt = play.end;
  v.src = `${play.url}#t=${play.start}`;
  v.dataset.start = play.start;
  v.dataset.end = play.end;
  v.addEventListener('loadedmetadata', () => {
    v.currentTime = play.start;
    v.play().catch(() => {});
  }, { once: true });
  $('player-like').onclick = () => like(hit);
}

function closePlayer() {
  const v = $('video');
  v.pause();
  v.removeAttribute('src');
  v.load();
  $('player').hidden = true;
  stopAt = null;
  playing = null;
}

$('video').addEventListener('timeupdate', () => {
  const v = $('video');
  if (stopAt !== null && v.currentTime >= stopAt) {
    v.pause();
    v.currentTime = stopAt;
  }
});
$('video').addEventListener('ended', () => {
  if (keepGoing && playing && playing.more) {
    const v = $('video');
    const url = playing.more;
    v.src = url;
    const next = { url, start: 0, end: null, rendition: true };
    playing = next;
    v.play().catch(() => {});
    // What follows this one, for the next 'ended' ({} at the video's end).
    fetch('/api/more/' + url.split('/').pop()).then((r) => r.json()).then((j) => {
      if (playing === next && j.more) next.more = j.more;
    }).catch(() => {});
  }
});
$('keep-watching').addEventListener('click', () => {
  stopAt = null;
  keepGoing = true;
  const v = $('video');
  if (v.ended && playing && playing.more) v.dispatchEvent(new Event('ended'));
  else v.play().catch(() => {});
});
$('close').addEventListener('click', closePlayer);
$('player').addEventListener('click', (e) => { if (e.target === $('player')) closePlayer(); });

// ---- controls ---------------------------------------------------------------------------------------
$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const st = currentState();
  if (st.q || st.clip || st.drop) navigate(st);
});
$('like-clear').addEventListener('click', () => {
  likeHit = null;
  dropped = null;
  const st = currentState();
  navigate(st);
});
// Grouping changes the view at once when there is a search to regroup.
$('group').addEventListener('change', () => {
  const st = currentState();
  if (st.q || st.clip || st.drop) navigate(st);
});

$('more').addEventListener('click', () => {
  // The same view with more results: this history entry is updated, not a new one.
  state = Object.assign({}, state, { k: Math.min(MAX_K, state.k + PAGE) });
  history.replaceState(null, '', urlOf(state));
  runSearch();
});
$('home').addEventListener('click', (e) => {
  e.preventDefault();
  likeHit = null;
  dropped = null;
  navigate({ q: '', clip: '', drop: '', w: '', path: '', min: '', group: '', k: PAGE });
});
window.addEventListener('popstate', () => {
  state = stateFromUrl();
  show();
});

function columns() {
  const cards = document.querySelectorAll('.card');
  if (cards.length < 2) return 1;
  const top = cards[0].offsetTop;
  let n = 0;
  while (n < cards.length && cards[n].offsetTop === top) n++;
  return n;
}

document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLInputElement;
  if (e.key === 'Escape') {
    if (!$('player').hidden) closePlayer();
    else if (typing) e.target.blur();
    return;
  }
  if (typing || !$('player').hidden) return;
  if (e.key === '/') {
    e.preventDefault();
    $('q').focus();
    $('q').select();
    return;
  }
  if (!results.length) return;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() }[e.key];
  if (step) {
    e.preventDefault();
    select(Math.max(0, Math.min(results.length - 1, (selected < 0 ? 0 : selected + step))));
  } else if (e.key === 'Enter' && selected >= 0) {
    e.preventDefault();
    openPlayer(results[selected]);
  }
});

// drop.js, loaded after this file, adds the drop zone: the first view is shown once both have run.
document.addEventListener('DOMContentLoaded', show);
