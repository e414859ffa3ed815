// Photo -> avatar through lam-serve's upload API (docs/service.md): POST api/avatars (field "photo"), then
// poll api/avatars/<id> for {state, stage, stages, progress, error} until done; the .lam and .ply are then at
// api/avatars/<id>.lam / .ply. Events: 'progress' {stage, progress, state}, 'done' {id, name, lam, ply},
// 'failed' {message}.

export const STAGES = [
  ['queued', 'Waiting'], ['photo', 'Photo'], ['face', 'Face'], ['fit', 'Fit'], ['gaussians', 'Gaussians'],
  ['writing', 'Writing'],
];

const POLL_MS = 300;
const GIVE_UP_MS = 10 * 60_000;

async function jsonOf(res) {
  try { return await res.json(); } catch { return { error: `the server answered HTTP ${res.status}` }; }
}

export class PhotoJob extends EventTarget {
  /** @param {File|Blob} file  @param {{maxBytes?: number, base?: string}} options */
  constructor(file, { maxBytes = Infinity, base = '' } = {}) {
    super();
    this.file = file;
    this.name = file.name || 'photo';
    this.maxBytes = maxBytes;
    this.base = base;
    this.id = null;
    this.cancelled = false;
  }

  _fail(message) {
    if (!this.cancelled) this.dispatchEvent(new CustomEvent('failed', { detail: { message } }));
  }

  /** Upload and follow the job; resolves when it has ended (see the events). */
  async run() {
    const { file, name } = this;
    if (file.type && !file.type.startsWith('image/')) return this._fail(`${name}: not a photo (${file.type})`);
    if (file.size > this.maxBytes) {
      return this._fail(`${name} is ${(file.size / 2 ** 20).toFixed(1)} MB: the server takes photos up to ${(this.maxBytes / 2 ** 20).toFixed(0)} MB`);
    }
    const body = new FormData();
    body.append('photo', file, name);
    this.dispatchEvent(new CustomEvent('progress', { detail: { state: 'uploading', stage: 'queued', progress: 0 } }));
    let res;
    try {
      res = await fetch(`${this.base}api/avatars`, { method: 'POST', body });
    } catch (err) {
      return this._fail(`${name}: the upload did not reach the server (${err.message})`);
    }
    const data = await jsonOf(res);
    if (res.status === 429) {
      const wait = res.headers.get('Retry-After');
      return this._fail(`${data.error || 'The server is busy'}${wait ? ` (about ${wait} s)` : ''}`);
    }
    if (!res.ok) return this._fail(data.error || `${name}: HTTP ${res.status}`);
    this.id = data.id;
    const statusUrl = `${this.base}${data.status.replace(/^\//, '')}`;
    const t0 = performance.now();
    while (!this.cancelled) {
      let st;
      try {
        const r = await fetch(statusUrl, { cache: 'no-store' });
        st = await jsonOf(r);
        if (!r.ok) return this._fail(st.error || `HTTP ${r.status}`);
      } catch (err) {
        return this._fail(`lost contact with the server (${err.message})`);
      }
      this.dispatchEvent(new CustomEvent('progress', { detail: st }));
      if (st.state === 'failed') return this._fail(st.error || 'the export failed');
      if (st.state === 'done') {
        const base = statusUrl;
        this.dispatchEvent(new CustomEvent('done', { detail: { id: this.id, name, lam: `${base}.lam`, ply: `${base}.ply` } }));
        return;
      }
      if (performance.now() - t0 > GIVE_UP_MS) return this._fail('the export is taking far too long: try again later');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Stop following the job (the server finishes it anyway). */
  cancel() { this.cancelled = true; }
}
