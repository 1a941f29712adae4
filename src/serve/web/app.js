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

function openPlayer(i) {
  const hit = results[i];
  if (!hit) return;
  select(i, false);
  const v = $('video');
  $('player-title').textContent = hit.path;
  $('player-segment').textContent = `${fmtTime(hit.start)}–${fmtTime(hit.end)}  score ${hit.score.toFixed(4)}`;
  $('player').hidden = false;
  stopAt = hit.end;
  v.src = `${hit.video}#t=${hit.start}`;
  v.dataset.start = hit.start;
  v.dataset.end = hit.end;
  v.addEventListener('loadedmetadata', () => {
    v.currentTime = hit.start;
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
}

$('video').addEventListener('timeupdate', () => {
  const v = $('video');
  if (stopAt !== null && v.currentTime >= stopAt) {
    v.pause();
    v.currentTime = stopAt;
  }
});
$('keep-watching').addEventListener('click', () => {
  stopAt = null;
  $('video').play().catch(() => {});
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
