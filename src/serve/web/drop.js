// The search page's drop zone (loaded after app.js, whose state it shares): a file picked with "Image or
// video…" or dropped anywhere on the page is searched with (POST /api/example, its bytes as they are);
// the URL holds only its name, so a reload or a bookmark asks for the file again.
'use strict';
const MAX_DROP = 512 * 1024 * 1024;  // the server's bound (serve/server.hpp kMaxExampleBytes)

// A dropped file, sent as it is (the server reads what it is from its bytes).
async function postFile(url, file) {
  const r = await fetch(url, { method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' } });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

// The view of a dropped file whose bytes this page no longer has (a reload, a bookmark): say so.
function dropAgain() {
  ++seq;
  results = [];
  $('results').textContent = '';
  $('start').textContent = '';
  $('more').hidden = true;
  $('status').textContent = '';
  const hint = $('hint');
  hint.textContent = `This search was by the file “${state.drop}”, dropped on the page: the address cannot hold a file, ` +
    'so drop it again (or pick it with “Image or video…”) to search with it.';
  hint.hidden = false;
}

// ---- search with a file: the picker, or a drop anywhere on the page ---------------------------------
function searchWithFile(file) {
  if (!file) return;
  if (file.size > MAX_DROP) {
    $('status').textContent = `Error: ${file.name} is larger than ${MAX_DROP / 1024 / 1024} MiB: use a shorter clip or a still`;
    return;
  }
  dropped = file;
  likeHit = null;
  const st = currentState();
  st.drop = file.name;
  navigate(st);
}
$('file').addEventListener('change', () => {
  searchWithFile($('file').files[0]);
  $('file').value = '';  // the same file picked again is a new search
});
let dragDepth = 0;  // dragenter/dragleave come for every element crossed
const carriesFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
document.addEventListener('dragenter', (e) => {
  if (!carriesFiles(e)) return;
  e.preventDefault();
  dragDepth++;
  $('drop-zone').hidden = false;
});
document.addEventListener('dragover', (e) => { if (carriesFiles(e)) e.preventDefault(); });
document.addEventListener('dragleave', () => {
  if (dragDepth > 0 && --dragDepth === 0) $('drop-zone').hidden = true;
});
document.addEventListener('drop', (e) => {
  if (!carriesFiles(e)) return;
  e.preventDefault();  // else the browser opens the file in place of the page
  dragDepth = 0;
  $('drop-zone').hidden = true;
  searchWithFile(e.dataTransfer.files[0]);
});
