// WebGL2 splat renderer. The Gaussians' data live in textures 2048 texels wide (texels.js): static colour +
// opacity and scale, per-frame centre and rotation (RGBA32F), and the draw order (R32UI, far to near). A
// frame is one non-instanced draw of 4 vertices / 6 indices per Gaussian with premultiplied alpha over the
// background. See shaders.js for the maths.

import { ViewerError } from '../errors.js';
import { TEX_WIDTH, texelBuffer, textureRows } from '../texels.js';
import { SPLAT_FS, SPLAT_VS } from './shaders.js';

export { texelBuffer, textureRows };

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) {
    const log = gl.getShaderInfoLog(s);
    gl.deleteShader(s);
    throw new ViewerError(`WebGL shader does not compile: ${log}`);
  }
  return s;
}

function program(gl, vs, fs, uniforms) {
  const p = gl.createProgram();
  gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vs));
  gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new ViewerError(`WebGL program does not link: ${gl.getProgramInfoLog(p)}`);
  const u = {};
  for (const name of uniforms) u[name] = gl.getUniformLocation(p, `u_${name}`);
  return { p, u };
}

const CAMERA_UNIFORMS = ['R', 't', 'intr', 'size', 'lim'];
const DATA = ['mean', 'quat', 'scale', 'color'];

export class SplatRenderer {
  /**
   * @param {HTMLCanvasElement|OffscreenCanvas} canvas
   * @param {{background?: number[], transparent?: boolean, preserveDrawingBuffer?: boolean}} options
   *   background: RGB in [0, 1] (default white, as the reference renderer); transparent: composite over the
   *   page instead (premultiplied alpha).
   */
  constructor(canvas, { background = [1, 1, 1], transparent = false, preserveDrawingBuffer = false } = {}) {
    this.canvas = canvas;
    const gl = canvas.getContext('webgl2', {
      alpha: transparent, premultipliedAlpha: true, antialias: false, depth: false, stencil: false,
      preserveDrawingBuffer, powerPreference: 'high-performance',
    });
    if (!gl) throw new ViewerError('this browser cannot show the avatar: WebGL2 is not available');
    this.gl = gl;
    this.background = background;
    this.transparent = transparent;
    this.n = 0;
    this.rows = 0;
    this.splat = program(gl, SPLAT_VS, SPLAT_FS, [...DATA, ...CAMERA_UNIFORMS, 'order']);
    this.vao = gl.createVertexArray();
    this.indexBuffer = gl.createBuffer();
    this.textures = {};
    for (const name of [...DATA, 'order']) this.textures[name] = gl.createTexture();
  }

  _allocate(name, internal, format, type, data) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
    gl.texImage2D(gl.TEXTURE_2D, 0, internal, TEX_WIDTH, this.rows, 0, format, type, data);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  _update(name, format, type, data) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEX_WIDTH, this.rows, format, type, data);
  }

  /** The Gaussians' constant attributes: colours (n*3, RGB in [0,1]), opacities (n), scales (n*3). */
  setGaussians(n, colors, opacities, scales) {
    const gl = this.gl;
    this.n = n;
    this.rows = textureRows(n);
    const col = texelBuffer(n), sc = texelBuffer(n);
    for (let i = 0; i < n; i++) {
      col[i * 4] = colors[i * 3]; col[i * 4 + 1] = colors[i * 3 + 1]; col[i * 4 + 2] = colors[i * 3 + 2];
      col[i * 4 + 3] = opacities[i];
      sc[i * 4] = scales[i * 3]; sc[i * 4 + 1] = scales[i * 3 + 1]; sc[i * 4 + 2] = scales[i * 3 + 2];
    }
    this._allocate('color', gl.RGBA32F, gl.RGBA, gl.FLOAT, col);
    this._allocate('scale', gl.RGBA32F, gl.RGBA, gl.FLOAT, sc);
    this._allocate('mean', gl.RGBA32F, gl.RGBA, gl.FLOAT, null);
    this._allocate('quat', gl.RGBA32F, gl.RGBA, gl.FLOAT, null);
    this._allocate('order', gl.R32UI, gl.RED_INTEGER, gl.UNSIGNED_INT, null);
    const idx = new Uint32Array(n * 6);
    for (let i = 0, v = 0; i < n; i++, v += 4) {
      const o = i * 6;
      idx[o] = v; idx[o + 1] = v + 1; idx[o + 2] = v + 2; idx[o + 3] = v + 1; idx[o + 4] = v + 3; idx[o + 5] = v + 2;
    }
    gl.bindVertexArray(this.vao);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.indexBuffer);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, idx, gl.STATIC_DRAW);
    gl.bindVertexArray(null);
    this.hasOrder = false;
  }

  /** Per-frame centres and rotations: Float32Arrays from texelBuffer(n) (4 floats per Gaussian). */
  setPose(means4, quats4) {
    const gl = this.gl;
    this._update('mean', gl.RGBA, gl.FLOAT, means4);
    if (quats4) this._update('quat', gl.RGBA, gl.FLOAT, quats4);
  }

  /** Draw order, far to near: a Uint32Array of at least textureRows(n) * 2048 entries (the first n used). */
  setOrder(order) {
    const gl = this.gl;
    this._update('order', gl.RED_INTEGER, gl.UNSIGNED_INT, order);
    this.hasOrder = true;
  }

  _bind(prog, names, first = 0) {
    const gl = this.gl;
    names.forEach((name, i) => {
      gl.activeTexture(gl.TEXTURE0 + first + i);
      gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
      gl.uniform1i(prog.u[name], first + i);
    });
  }

  _camera(prog, camera) {
    const gl = this.gl, m = camera.worldToCamera;
    const { fx, fy, cx, cy, width: W, height: H } = camera;
    gl.uniformMatrix3fv(prog.u.R, false, [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]]); // column-major
    gl.uniform3f(prog.u.t, m[3], m[7], m[11]);
    gl.uniform4f(prog.u.intr, fx, fy, cx, cy);
    gl.uniform2f(prog.u.size, W, H);
    const tanx = (0.5 * W) / fx, tany = (0.5 * H) / fy;
    gl.uniform4f(prog.u.lim, (W - cx) / fx + 0.3 * tanx, cx / fx + 0.3 * tanx, (H - cy) / fy + 0.3 * tany, cy / fy + 0.3 * tany);
  }

  /** Draw with a Camera (camera.js) whose width/height are the drawing buffer's size. */
  draw(camera) {
    const gl = this.gl, c = this.canvas;
    if (c.width !== camera.width || c.height !== camera.height) {
      c.width = camera.width;
      c.height = camera.height;
    }
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.CULL_FACE);
    gl.disable(gl.DITHER);
    gl.disable(gl.BLEND);
    gl.bindVertexArray(this.vao);
    gl.viewport(0, 0, camera.width, camera.height);
    const [br, bg, bb] = this.background;
    if (this.transparent) gl.clearColor(0, 0, 0, 0); else gl.clearColor(br, bg, bb, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.n && this.hasOrder) {
      const sp = this.splat;
      gl.useProgram(sp.p);
      this._camera(sp, camera);
      this._bind(sp, [...DATA, 'order']);
      gl.enable(gl.BLEND);
      gl.blendEquation(gl.FUNC_ADD);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.drawElements(gl.TRIANGLES, this.n * 6, gl.UNSIGNED_INT, 0);
    }
    gl.bindVertexArray(null);
  }

  /** The drawing buffer as RGBA bytes, rows top to bottom (call right after draw, or with
   * preserveDrawingBuffer). */
  readPixels() {
    const gl = this.gl, w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    const px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const out = new Uint8Array(w * h * 4), row = w * 4;
    for (let y = 0; y < h; y++) out.set(px.subarray((h - 1 - y) * row, (h - y) * row), y * row);
    return { width: w, height: h, data: out };
  }

  dispose() {
    const gl = this.gl;
    for (const t of Object.values(this.textures)) gl.deleteTexture(t);
    gl.deleteBuffer(this.indexBuffer);
    gl.deleteVertexArray(this.vao);
    gl.deleteProgram(this.splat.p);
  }
}
