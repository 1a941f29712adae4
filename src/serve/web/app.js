// The search page: calls /api/query and /api/like, shows thumbnails, plays a hit's segment.
'use strict';
const $ = (id) => document.getElementById(id);
let results = [];
let selected = -1;
let stopAt = null;  // the segment's end while "playing the segment"; null after "keep watching"

function fmtTime(s) {
  const m = Math.floor(s / 60);
  const r = (s - m * 60).toFixed(1).padStart(4, '0');
  return `${m}:${r}`;
}

function baseName(p) { return p.split('/').pop(); }

function filters() {
  const p = new URLSearchParams({ k: '24' });
  if ($('min-score').value !== '') p.set('min_score', $('min-score').value);
  if ($('path').value !== '') p.set('path', $('path').value);
  return p;
}

async function load(url, label) {
  $('status').textContent = 'Searching…';
  const t0 = performance.now();
  let data;
  try {
    const r = await fetch(url);
    data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
  } catch (e) {
    $('status').textContent = 'Error: ' + e.message;
    return;
  }
  results = data.results;
  const ms = Math.round(performance.now() - t0);
  $('status').textContent = `${results.length} result${results.length === 1 ? '' : 's'} for ${label} (${ms} ms)`;
  render();
}

function search(text) {
  const p = filters();
  p.set('q', text);
  history.replaceState(null, '', '?q=' + encodeURIComponent(text));
  return load('/api/query?' + p, `“${text}”`);
}

function like(hit) {
  const p = filters();
  p.set('clip', hit.clip_id);
  closePlayer();
  return load('/api/like?' + p, `clips like ${baseName(hit.path)} ${fmtTime(hit.start)}`);
}

function render() {
  const grid = $('results');
  grid.textContent = '';
  results.forEach((hit, i) => {
    const card = document.createElement('div');
    card.className = 'card';
    card.tabIndex = 0;
    card.dataset.index = i;
    const img = document.createElement('img');
    img.src = hit.thumbnail;
    img.alt = baseName(hit.path);
    img.loading = 'lazy';
    img.addEventListener('click', () => openPlayer(i));
    const meta = document.createElement('div');
    meta.className = 'meta';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = baseName(hit.path);
    name.title = hit.path;
    const line = document.createElement('div');
    line.className = 'line';
    const when = document.createElement('span');
    when.textContent = `${fmtTime(hit.start)}–${fmtTime(hit.end)}`;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = `#${hit.rank}  ${hit.score.toFixed(4)}`;
    line.append(when, score);
    const more = document.createElement('button');
    more.className = 'like';
    more.textContent = 'More like this';
    more.addEventListener('click', () => like(hit));
    meta.append(name, line, more);
    card.append(img, meta);
    card.addEventListener('focus', () => select(i, false));
    grid.append(card);
  });
  select(results.length ? 0 : -1, false);
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

// How to play a hit: the original file from the segment's start, or (for a file the browser cannot play)
// a rendition of the segment whose time 0 is the segment's start; `more` continues after a rendition.
function playOf(hit) {
  return hit.play || { url: hit.video, start: hit.start, end: hit.end, rendition: false };
}

let playing = null;     // the play object of the open player
let keepGoing = false;  // "keep watching" asked: a rendition's end moves on to `more`

function openPlayer(i) {
  const hit = results[i];
  if (!hit) return;
  select(i, false);
  const v = $('video');
  const play = playOf(hit);
  $('player-title').textContent = hit.path;
  $('player-segment').textContent = `${fmtTime(hit.start)}–${fmtTime(hit.end)}  score ${hit.score.toFixed(4)}` +
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
$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('q').value.trim();
  if (text) search(text);
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
    openPlayer(selected);
  }
});

const initial = new URLSearchParams(location.search).get('q');
if (initial) {
  $('q').value = initial;
  search(initial);
}
