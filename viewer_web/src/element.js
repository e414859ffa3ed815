// <lam-avatar src="avatar.lam" motion="talk.json" autoplay fps no-idle no-controls background="#ffffff"></lam-avatar>
// A custom element around LamViewer: the element's `viewer` property is the LamViewer, and load(),
// setParams(), play(), pause() are forwarded. Errors show inside the element and fire an 'error' event.

import { LamViewer } from './viewer.js';

function parseColor(s) {
  if (!s) return undefined;
  if (s === 'transparent') return 'transparent';
  const m = /^#?([0-9a-f]{6})$/i.exec(s.trim());
  if (!m) return undefined;
  const v = parseInt(m[1], 16);
  return [(v >> 16) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

// (a plain base class where there is no DOM, so that importing the bundle in Node or a worker does not throw)
const Base = typeof HTMLElement !== 'undefined' ? HTMLElement : class {};

export class LamAvatarElement extends Base {
  static get observedAttributes() { return ['src', 'motion', 'fps']; }

  connectedCallback() {
    if (this.viewer) return;
    if (!this.style.display) this.style.display = 'block';
    this.viewer = new LamViewer(this, {
      background: parseColor(this.getAttribute('background')),
      idle: !this.hasAttribute('no-idle'),
      fps: this.hasAttribute('fps'),
      controls: !this.hasAttribute('no-controls'),
    });
    for (const type of ['load', 'error', 'motion', 'frame']) {
      this.viewer.addEventListener(type, (e) => this.dispatchEvent(new CustomEvent(type, { detail: e.detail })));
    }
    this._sync();
  }

  disconnectedCallback() {
    this.viewer?.dispose();
    this.viewer = null;
  }

  attributeChangedCallback() {
    if (this.viewer) this._sync();
  }

  async _sync() {
    const src = this.getAttribute('src');
    if (src && src !== this._src) {
      this._src = src;
      try { await this.viewer.load(src); } catch { return; }
    }
    const motion = this.getAttribute('motion');
    if (motion && motion !== this._motion && this.viewer.avatar) {
      this._motion = motion;
      try { await this.viewer.loadMotion(motion, { play: this.hasAttribute('autoplay') }); } catch { /* shown */ }
    }
    this.viewer.showFps(this.hasAttribute('fps'));
  }

  load(src) { this._src = typeof src === 'string' ? src : null; return this.viewer.load(src); }
  loadMotion(src, opts) { return this.viewer.loadMotion(src, opts); }
  setParams(p) { return this.viewer.setParams(p); }
  play() { this.viewer.play(); }
  pause() { this.viewer.pause(); }
}

export function defineElement(name = 'lam-avatar') {
  if (typeof customElements !== 'undefined' && !customElements.get(name)) customElements.define(name, LamAvatarElement);
}
