// The page lam-serve shows (static/index.html): avatar picker, example motions, play/pause/scrub, FPS
// counter, open/drop a .lam or a motion file, readable errors. With ?test=1 it exposes window.lamViewer for
// lam-verify and the browser tests: {ready, error, setCamera, setParams, renderNow, readPixels, stats}.
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

const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
const test = q.get('test') === '1';
const MAX_UPLOAD = 64 << 20;

const viewer = new LamViewer($('stage'), {
  idle: !test || q.get('idle') === '1', fps: q.get('fps') === '1', worker: q.get('worker') !== '0', preserveDrawingBuffer: test,
});
$('fps').checked = q.get('fps') === '1';

function notice(text, isError = false) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', isError);
}

async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

// -------------------------------------------------------------------------------------------- avatars

async function loadAvatar(src, label) {
  notice('');
  try {
    await viewer.load(src);
    document.title = `${label} · LAM avatar viewer`;
  } catch (err) {
    notice(describeError(err), true);
  }
}

$('avatar').addEventListener('change', (e) => {
  const opt = e.target.selectedOptions[0];
  if (opt) loadAvatar(opt.value, opt.textContent);
});

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

$('motion').addEventListener('change', (e) => {
  const v = e.target.value;
  if (!v) {
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
    updateTransport();
  } catch (err) {
    notice(`${file.name}: ${describeError(err)}`, true);
  }
}

function openFile(file) {
  if (/\.lam$/i.test(file.name)) loadAvatar(file, file.name);
  else openMotionFile(file);
}

// -------------------------------------------------------------------------------------------- transport

function updateTransport() {
  $('play').textContent = viewer.playing ? '❚❚' : '▶';
  $('clock').textContent = `${viewer.time.toFixed(1)} s`;
  if (document.activeElement !== $('scrub')) $('scrub').value = String(viewer.time);
}
$('play').addEventListener('click', () => { viewer.playing ? viewer.pause() : viewer.play(); updateTransport(); });
$('scrub').addEventListener('input', (e) => { viewer.pause(); viewer.seek(+e.target.value); updateTransport(); });
viewer.addEventListener('frame', updateTransport);
$('fps').addEventListener('change', (e) => viewer.showFps(e.target.checked));
$('open').addEventListener('click', () => $('file').click());
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
  const { state, message } = cam;
  const el = $('camstatus');
  let text = message;
  if (state === 'tracking' || state === 'calibrating') {
    text += ` · ${cam.stats.fps.toFixed(0)} fps (${cam.stats.mode})`;
    if (cam.recording) text += ` · recording ${cam.recorder.duration.toFixed(0)} s`;
  }
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', state === 'error');
  $('webcam').hidden = !cam.running;
  const video = cam.source === 'video';
  $('camera').textContent = cam.running && !video ? 'Stop camera' : 'Use camera';
  $('video').textContent = cam.running && video ? 'Stop video' : 'Use video';
  $('calibrate').disabled = !(state === 'tracking' || state === 'calibrating' || state === 'noface');
  $('record').disabled = !(state === 'tracking' || cam.recording);
  $('record').textContent = cam.recording ? 'Stop and save' : 'Record';
}
cam.addEventListener('status', camStatus);
cam.addEventListener('recordingfull', () => saveRecording('the recording reached its size limit'));
cam.addEventListener('ended', () => { if (cam.recording) saveRecording('the video ended'); });
setInterval(() => { if (cam.running) camStatus(); }, 1000);

function saveRecording(why = '') {
  const motion = cam.stopRecording(cam.source === 'video' ? 'video' : 'webcam');
  camStatus();
  if (!motion) return notice('Nothing was recorded (no face was tracked).', true);
  lastRecording = motion;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const name = `${cam.source === 'video' ? 'video' : 'webcam'}-${stamp}.json`;
  const url = URL.createObjectURL(new Blob([JSON.stringify(motion)], { type: 'application/json' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
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
    const [{ avatars }, { motions }] = await Promise.all([getJSON('api/avatars'), getJSON('api/motions')]);
    for (const a of avatars) $('avatar').add(new Option(a.name, a.url));
    for (const m of motions) $('motion').add(new Option(m.name, m.url));
    const want = q.get('avatar');
    const pick = avatars.find((a) => a.name === want) ?? avatars[0];
    if (want && !avatars.some((a) => a.name === want)) notice(`no avatar named ${want}`, true);
    if (!pick) {
      notice('No avatar is served: start lam-serve with a .lam file, or open/drop one here.');
      hook.ready = true;
      return;
    }
    $('avatar').value = pick.url;
    await loadAvatar(pick.url, pick.name);
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
