// Orbit controls for mouse, touch and pen: one pointer drags to orbit, two pointers pinch to zoom, the wheel
// zooms, a double click/tap resets. The state is an orbit (yaw, pitch, distance) around a target, the same
// parametrisation as lam_core.camera.Camera.orbit.

const MAX_PITCH = 85;

export class OrbitControls {
  /**
   * @param {HTMLElement} element receives the pointer events (its touch-action is set to none)
   * @param {{yaw?: number, pitch?: number, distance: number, minDistance?: number, maxDistance?: number,
   *          onChange?: Function}} state
   */
  constructor(element, { yaw = 0, pitch = 0, distance = 1, minDistance, maxDistance, onChange } = {}) {
    this.element = element;
    this.home = { yaw, pitch, distance };
    this.yaw = yaw; this.pitch = pitch; this.distance = distance;
    this.minDistance = minDistance ?? distance * 0.3;
    this.maxDistance = maxDistance ?? distance * 4;
    this.onChange = onChange ?? (() => {});
    this.pointers = new Map();
    this.degreesPerPixel = 0.4;
    element.style.touchAction = 'none';
    this._listeners = {
      pointerdown: (e) => this._down(e), pointermove: (e) => this._move(e), pointerup: (e) => this._up(e),
      pointercancel: (e) => this._up(e), wheel: (e) => this._wheel(e), dblclick: () => this.reset(),
    };
    for (const [k, f] of Object.entries(this._listeners)) element.addEventListener(k, f, { passive: k !== 'wheel' });
  }

  setHome({ yaw = 0, pitch = 0, distance }) {
    this.home = { yaw, pitch, distance };
    this.minDistance = distance * 0.3;
    this.maxDistance = distance * 4;
    this.reset();
  }

  reset() {
    Object.assign(this, this.home);
    this.onChange();
  }

  _down(e) {
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    try { this.element.setPointerCapture(e.pointerId); } catch { /* synthetic events */ }
  }

  _move(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    if (this.pointers.size === 1) {
      const dx = e.clientX - p.x, dy = e.clientY - p.y;
      this.yaw -= dx * this.degreesPerPixel;
      this.pitch = Math.max(-MAX_PITCH, Math.min(MAX_PITCH, this.pitch + dy * this.degreesPerPixel));
      p.x = e.clientX; p.y = e.clientY;
      this.onChange();
    } else if (this.pointers.size === 2) {
      const before = this._spread();
      p.x = e.clientX; p.y = e.clientY;
      const after = this._spread();
      if (before > 1 && after > 1) this._zoom(before / after);
    }
  }

  _spread() {
    const [a, b] = [...this.pointers.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  _up(e) {
    this.pointers.delete(e.pointerId);
  }

  _wheel(e) {
    e.preventDefault();
    this._zoom(Math.exp(e.deltaY * 0.001));
  }

  _zoom(factor) {
    this.distance = Math.max(this.minDistance, Math.min(this.maxDistance, this.distance * factor));
    this.onChange();
  }

  dispose() {
    for (const [k, f] of Object.entries(this._listeners)) this.element.removeEventListener(k, f);
  }
}
