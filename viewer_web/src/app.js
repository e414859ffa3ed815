// The page lam-serve shows (static/index.html), phone first: a photo or selfie becomes an avatar through the
// server's upload API (page/photo_job.js, with its stages and progress), avatar and motion lists that follow
// what was opened, play/pause/scrub, open/drop a photo, a .lam or a motion file, downloads (.lam, .ply, a video
// clip of the view: page/clip.js), readable errors. With ?test=1 it exposes window.lamViewer for lam-verify
// and the browser tests: {ready, error, setCamera, setParams, renderNow, readPixels, stats, lastJob}.
// Query: ?avatar=NAME  ?motion=NAME  ?fps=1  ?worker=0 (deform on the main thread)  ?test=1 (?idle=1 keeps
// the idle animation in test mode)  ?tracker=main (face tracking on the main thread instead of a Worker)
// The camera: "Use camera" drives the avatar live (webcam/driver.js), "Calibrate" takes a new neutral face,
// "Record" saves the solved parameters as a lam-motion JSON file (lam-render and this page play it).
// "Use video" does the same with a video file (it plays small in the corner; ?videorate=0.5 slows it).

import { describeError } from './errors.js';
import { LamViewer } from './viewer.js';
import { bytesToBase64, parseMotionText } from './motion.js';
import { benchmarkFrames } from './bench.js';
import { WebcamDriver } from './webcam/driver.js';
import { PhotoJob, STAGES } from './page/photo_job.js';
import { ClipRecorder } from './page/clip.js';
import { download, stamp } from './page/download.js';

const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
const test = q.get('test') === '1';
const MAX_UPLOAD = 64 << 20;

const viewer = new LamViewer($('stage'), {
  idle: !test || q.get('idle') === '1', fps: q.get('fps') === '1', worker: q.get('worker') !== '0', preserveDrawingBuffer: test,
});
$('fps').checked = q.get('fps') === '1';

/** One message line under the view (errors in red); the same message is not repeated. */
function notice(text, isError = false) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', isError);
}
const label = (id, text) => { ($(id).querySelector('.label') ?? $(id)).textContent = text; };

async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

// -------------------------------------------------------------------------------------------- avatars

// The avatar list: what the server serves, avatars made here from photos, .lam files opened or dropped.
// key -> {name, src (URL or File), ply (URL or null)}; the selected one is what Download saves.
const avatars = new Map();
let current = null;

function addAvatar(entry) {
  const key = `a${avatars.size}`;
  avatars.set(key, entry);
  $('avatar').add(new Option(entry.name, key));
  $('avatar').hidden = false;
  return key;
}

async function loadAvatar(key) {
  const entry = avatars.get(key);
  if (!entry) return;
  $('avatar').value = key;
  notice('');
  $('welcome').hidden = true;
  try {
    await viewer.load(entry.src);
    current = entry;
    document.title = `${entry.name} · LAM avatar viewer`;
  } catch (err) {
    current = null;
    notice(describeError(err), true);
  }
  updateMenu();
}

$('avatar').addEventListener('change', (e) => loadAvatar(e.target.value));

// -------------------------------------------------------------------------------------------- motions

viewer.addEventListener('motion', (e) => {
  const { unmapped, source, fps, frames } = e.detail;
  $('scrub').max = String(viewer.duration);
  $('scrub').disabled = false;
  $('play').disabled = false;
  const base = `${source}: ${frames} frames at ${fps.toFixed(fps % 1 ? 2 : 0)} fps`;
  const names = unmapped.length > 8 ? `${unmapped.slice(0, 8).join(', ')} and ${unmapped.length - 8} more` : unmapped.join(', ');
  notice(unmapped.length
    ? `${base}. The avatar lacks ${unmapped.length} of the motion's channels: ${names} (ignored; the joints always play).`
    : base);
});
viewer.addEventListener('error', (e) => notice(e.detail.message, true));

async function useMotion(src) {
  try {
    await viewer.loadMotion(src, { play: true });
    updateTransport();
  } catch (err) {
    notice(describeError(err), true);
  }
}

// motions opened from files join the list (value "f<N>") so it always says what plays
const fileMotions = new Map();
function addFileMotion(motion, name) {
  const key = `f${fileMotions.size}`;
  fileMotions.set(key, motion);
  $('motion').add(new Option(name, key));
  $('motion').value = key;
}

$('motion').addEventListener('change', (e) => {
  const v = e.target.value;
  if (fileMotions.has(v)) {
    viewer.setMotion(fileMotions.get(v));
    viewer.play();
    updateTransport();
  } else if (!v) {
    viewer.setMotion(null);
    $('scrub').disabled = true;
    $('play').disabled = true;
    notice('');
    updateTransport();
  } else useMotion(v);
});

/** A motion file from the user: JSON is parsed here; anything else goes to the server for conversion. */
async function openMotionFile(file) {
  if (file.size > MAX_UPLOAD) return notice(`${file.name}: larger than ${MAX_UPLOAD >> 20} MiB`, true);
  if (/\.json$/i.test(file.name)) {
    try {
      const motion = parseMotionText(await file.text(), file.name);
      viewer.setMotion(motion);
      addFileMotion(motion, file.name);
      viewer.play();
      updateTransport();
    } catch (err) {
      notice(describeError(err), true);
    }
    return;
  }
  const body = new FormData();
  body.append('file', file, file.name);
  try {
    const res = await fetch('api/motion', { method: 'POST', body });
    const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (!res.ok) return notice(`${file.name}: ${data.error || `HTTP ${res.status}`}`, true);
    await viewer.loadMotion(data, { play: true });
    addFileMotion(data, file.name);
    updateTransport();
  } catch (err) {
    notice(`${file.name}: ${describeError(err)}`, true);
  }
}

function openFile(file) {
  if (/\.lam$/i.test(file.name)) loadAvatar(addAvatar({ name: file.name, src: file, ply: null }));
  else if (/^image\//.test(file.type) || /\.(jpe?g|png|webp|heic|gif|bmp)$/i.test(file.name)) makeAvatar(file);
  else openMotionFile(file);
}

// -------------------------------------------------------------------------------------------- photo -> avatar

let service = { upload: false };
let job = null;
const hookJob = { state: null, stages: [], error: null, id: null };

function showJob(st) {
  const order = STAGES.map(([k]) => k);
  const at = order.indexOf(st.stage);
  $('job-stages').replaceChildren(...STAGES.filter(([k]) => k !== 'queued' || st.stage === 'queued').map(([k, text], i) => {
    const li = document.createElement('li');
    li.textContent = text;
    li.dataset.stage = k;
    const idx = order.indexOf(k);
    if (idx < at || st.state === 'done') li.className = 'done';
    else if (idx === at) li.className = 'now';
    return li;
  }));
  $('job-title').textContent = st.state === 'uploading' ? 'Uploading your photo…'
    : st.state === 'queued' ? 'Waiting for a free worker…' : 'Making your avatar…';
  $('job-progress').value = st.progress ?? 0;
}

async function makeAvatar(file) {
  if (!service.upload) return notice(`${file.name}: this server makes no avatars from photos (start lam-serve without --no-upload)`, true);
  if (job) return notice('An avatar is being made already: wait for it to finish.', true);
  notice('');
  $('welcome').hidden = true;
  const url = URL.createObjectURL(file);
  $('job-photo').src = url;
  $('job').hidden = false;
  showJob({ state: 'uploading', stage: 'queued', progress: 0 });
  job = new PhotoJob(file, { maxBytes: service.max_upload_bytes });
  Object.assign(hookJob, { state: 'uploading', stages: [], error: null, id: null });
  job.addEventListener('progress', (e) => {
    showJob(e.detail);
    hookJob.state = e.detail.state;
    hookJob.id = job.id;
    // the server's history (every stage the job entered) and the stage shown now: a stage shorter than the
    // poll interval is still recorded
    const history = Array.isArray(e.detail.stages) ? e.detail.stages : [];
    for (const s of [...history, e.detail.stage]) if (typeof s === 'string' && !hookJob.stages.includes(s)) hookJob.stages.push(s);
  });
  job.addEventListener('failed', (e) => { hookJob.state = 'failed'; hookJob.error = e.detail.message; notice(e.detail.message, true); });
  job.addEventListener('done', async (e) => {
    const { name, lam, ply } = e.detail;
    const base = name.replace(/\.[^.]*$/, '') || 'avatar';
    hookJob.state = 'done';
    $('job-title').textContent = 'Opening your avatar…';
    await loadAvatar(addAvatar({ name: `${base}.lam`, src: lam, ply }));
    if (viewer.avatar) notice(`Your avatar from ${name} is ready: play a motion, use the camera, or download it (More).`);
  });
  try {
    await job.run();
  } finally {
    job = null;
    $('job').hidden = true;
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    if (!viewer.avatar && service.upload) $('welcome').hidden = false;
  }
}

for (const [button, input] of [['photo', 'photofile'], ['welcome-photo', 'photofile'], ['selfie', 'selfiefile']]) {
  $(button).addEventListener('click', () => { closeMenu(); $(input).click(); });
  $(input).addEventListener('change', (e) => { const f = e.target.files[0]; if (f) makeAvatar(f); e.target.value = ''; });
}

// -------------------------------------------------------------------------------------------- menu, downloads, clip

function closeMenu() { $('menu').hidden = true; $('more').setAttribute('aria-expanded', 'false'); }
$('more').addEventListener('click', (e) => {
  e.stopPropagation();
  const open = $('menu').hidden;
  $('menu').hidden = !open;
  $('more').setAttribute('aria-expanded', String(open));
});
document.addEventListener('click', (e) => { if (!$('menu').hidden && !$('menu').contains(e.target)) closeMenu(); });
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeMenu(); });

const clip = new ClipRecorder(viewer.canvas);
function updateMenu() {
  $('dl-lam').disabled = !current;
  $('dl-ply').disabled = !current?.ply;
  $('clip').disabled = !viewer.avatar || !ClipRecorder.supported;
  $('clip').textContent = clip.recording ? `Stop clip (${clip.seconds.toFixed(0)} s)` : 'Record clip';
  $('clip').classList.toggle('recording', clip.recording);
}
$('dl-lam').addEventListener('click', () => { closeMenu(); if (current) download(current.src, current.name.replace(/(\.lam)?$/i, '.lam')); });
$('dl-ply').addEventListener('click', () => { closeMenu(); if (current?.ply) download(current.ply, current.name.replace(/\.lam$/i, '') + '.ply'); });
$('clip').addEventListener('click', () => {
  closeMenu();
  if (clip.recording) { clip.stop(); updateMenu(); return; }
  try { clip.start(); notice('Recording a clip of the view: More → Stop clip (at most 30 s).'); } catch (err) { notice(describeError(err), true); }
  updateMenu();
});
clip.addEventListener('clip', (e) => {
  const { blob, ext, seconds } = e.detail;
  const name = `${(current?.name ?? 'avatar').replace(/\.lam$/i, '')}-${stamp()}.${ext}`;
  download(blob, name);
  notice(`Saved ${name} (${seconds.toFixed(1)} s, ${(blob.size / 2 ** 20).toFixed(1)} MB).`);
  updateMenu();
});
setInterval(() => { if (clip.recording) updateMenu(); }, 1000);

// -------------------------------------------------------------------------------------------- transport

function updateTransport() {
  $('play').textContent = viewer.playing ? '❚❚' : '▶';
  $('play').setAttribute('aria-label', viewer.playing ? 'pause' : 'play');
  $('clock').textContent = `${viewer.time.toFixed(1)} s`;
  if (document.activeElement !== $('scrub')) $('scrub').value = String(viewer.time);
}
$('play').addEventListener('click', () => { viewer.playing ? viewer.pause() : viewer.play(); updateTransport(); });
$('scrub').addEventListener('input', (e) => { viewer.pause(); viewer.seek(+e.target.value); updateTransport(); });
viewer.addEventListener('frame', updateTransport);
$('fps').addEventListener('change', (e) => viewer.showFps(e.target.checked));
$('open').addEventListener('click', () => { closeMenu(); $('file').click(); });
$('file').addEventListener('change', (e) => { const f = e.target.files[0]; if (f) openFile(f); e.target.value = ''; });

let dragDepth = 0;
window.addEventListener('dragenter', (e) => { e.preventDefault(); dragDepth++; $('drop').hidden = false; });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; $('drop').hidden = true; } });
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  $('drop').hidden = true;
  const f = e.dataTransfer?.files?.[0];
  if (f) openFile(f);
});

// -------------------------------------------------------------------------------------------- camera

const cam = new WebcamDriver(viewer, {
  worker: q.get('tracker') !== 'main', preview: $('preview'), frameTag: test && q.get('frametag') === '1',
});
let lastRecording = null;

function camStatus() {
  const { state } = cam;
  const el = $('camstatus');
  // the tracker's first frames can take seconds (model download and compile): it is still loading until one came back
  const warming = state === 'calibrating' && cam.stats.frames === 0;
  let text = warming ? 'Loading face tracking…' : cam.message;
  if (state === 'tracking' || (state === 'calibrating' && !warming)) {
    text += ` · ${cam.stats.fps.toFixed(0)} fps (${cam.stats.mode})`;
    if (cam.recording) text += ` · recording ${cam.recorder.duration.toFixed(0)} s`;
  }
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', state === 'error');
  $('webcam').hidden = !cam.running;
  $('camtools').hidden = !cam.running;
  const video = cam.source === 'video';
  label('camera', cam.running && !video ? 'Stop camera' : 'Use camera');
  $('camera').classList.toggle('on', cam.running && !video);
  label('video', cam.running && video ? 'Stop video' : 'Use video');
  $('video').classList.toggle('on', cam.running && video);
  $('calibrate').disabled = !(state === 'tracking' || state === 'calibrating' || state === 'noface');
  $('record').disabled = !(state === 'tracking' || cam.recording);
  $('record').textContent = cam.recording ? 'Stop and save' : 'Record';
  $('record').classList.toggle('recording', cam.recording);
}
cam.addEventListener('status', camStatus);
cam.addEventListener('recordingfull', () => saveRecording('the recording reached its size limit'));
cam.addEventListener('ended', () => { if (cam.recording) saveRecording('the video ended'); });
setInterval(() => { if (cam.running) camStatus(); }, 500);

function saveRecording(why = '') {
  const kind = cam.source === 'video' ? 'video' : 'webcam';
  const motion = cam.stopRecording(kind);
  camStatus();
  if (!motion) return notice('Nothing was recorded (no face was tracked).', true);
  lastRecording = motion;
  const name = `${kind}-${stamp()}.json`;
  download(new Blob([JSON.stringify(motion)], { type: 'application/json' }), name);
  notice(`${why ? `${why}: ` : ''}saved ${name} (${motion.frames} frames at ${motion.fps} fps). Play it here (Open…) or with lam-render --motion ${name}.`);
}

$('camera').addEventListener('click', () => {
  const stopOnly = cam.running && cam.source === 'camera';
  if (cam.running) cam.stop();
  if (!stopOnly) cam.start();
  camStatus();
});
$('video').addEventListener('click', () => {
  if (cam.running && cam.source === 'video') { cam.stop(); camStatus(); } else $('videofile').click();
});
$('videofile').addEventListener('change', (e) => {
  const f = e.target.files?.[0];
  e.target.value = '';
  if (f) { cam.startVideo(f, { playbackRate: Number(q.get('videorate')) || 1 }); camStatus(); }
});
$('calibrate').addEventListener('click', () => cam.calibrate());
$('record').addEventListener('click', () => {
  if (cam.recording) saveRecording();
  else { cam.startRecording(); camStatus(); }
});
viewer.addEventListener('load', () => {
  updateMenu();
  if (!cam.running) return;
  cam.stop();
  $('camstatus').textContent = 'The camera stopped: another avatar was loaded. Press Use camera again.';
  $('camstatus').hidden = false;
});

// -------------------------------------------------------------------------------------------- start

const hook = { ready: false, error: null, viewer };
if (test) {
  Object.assign(hook, {
    setCamera: (c) => viewer.setCamera(c),
    setParams: (p) => viewer.setParams(p),
    renderNow: () => viewer.renderNow(),
    stats: () => viewer.stats,
    benchmark: (params, opts) => benchmarkFrames(viewer, params, opts),
    webcam: cam,
    lastRecording: () => lastRecording,
    lastJob: () => ({ ...hookJob, stages: [...hookJob.stages] }),
    /** The canvas as base64 RGBA bytes, rows top to bottom. */
    readPixels: () => {
      const { width, height, data } = viewer.readPixels();
      return { width, height, rgba: bytesToBase64(data) };
    },
  });
  window.lamViewer = hook;
}

async function start() {
  try {
    const [{ avatars: served }, { motions }, info] = await Promise.all([
      getJSON('api/avatars'), getJSON('api/motions'), getJSON('api/service').catch(() => ({ upload: false }))]);
    service = info;
    $('photo').hidden = !service.upload;
    $('selfie').hidden = !service.upload;
    const keys = served.map((a) => addAvatar({ name: a.name, src: a.url, ply: null }));
    $('avatar').hidden = !keys.length;     // an empty list says nothing: the welcome card does
    for (const m of motions) $('motion').add(new Option(m.name, m.url));
    const want = q.get('avatar');
    const at = want ? served.findIndex((a) => a.name === want) : 0;
    if (want && at < 0) { hook.error = `no avatar named ${want}`; notice(hook.error, true); }
    if (!keys.length || at < 0) {
      if (service.upload) $('welcome').hidden = false;
      else if (!keys.length) notice('No avatar is served: start lam-serve with a .lam file, or open/drop one here.');
      updateMenu();
      hook.ready = true;
      return;
    }
    await loadAvatar(keys[at]);
    const m = q.get('motion') && motions.find((x) => x.name === q.get('motion'));
    if (m) { $('motion').value = m.url; await useMotion(m.url); }
    if (!viewer.avatar) hook.error = $('notice').textContent || 'the avatar did not load';
  } catch (err) {
    hook.error = describeError(err);
    notice(hook.error, true);
  }
  hook.ready = true;
}
start();
