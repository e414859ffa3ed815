// WebGL2 splat renderer: Gaussians' data live in float textures (static: colour+opacity, scale; per frame:
// centre, rotation), one instanced quad per Gaussian drawn in the order of a per-instance index buffer
// (far to near), premultiplied alpha over the background. See shaders.js for the maths.

import { ViewerError } from '../errors.js';
import { SPLAT_FS, SPLAT_VS } from './shaders.js';
import { TEX_WIDTH, texelBuffer, textureRows } from '../texels.js';

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

function link(gl, vs, fs) {
  const p = gl.createProgram();
  gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vs));
  gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fs));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new ViewerError(`WebGL program does not link: ${gl.getProgramInfoLog(p)}`);
  return p;
}

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
    this.program = link(gl, SPLAT_VS, SPLAT_FS);
    const u = (name) => gl.getUniformLocation(this.program, name);
    this.u = {
      mean: u('u_mean'), quat: u('u_quat'), scale: u('u_scale'), color: u('u_color'),
      R: u('u_R'), t: u('u_t'), intr: u('u_intr'), size: u('u_size'), lim: u('u_lim'),
    };
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.cornerBuffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.cornerBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.orderBuffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.orderBuffer);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribIPointer(1, 1, gl.UNSIGNED_INT, 0, 0);
    gl.vertexAttribDivisor(1, 1);
    gl.bindVertexArray(null);
    this.textures = {};
    for (const name of ['mean', 'quat', 'scale', 'color']) this.textures[name] = gl.createTexture();
  }

  _texture(name, rows, data) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
    if (this._rows !== rows || !this._allocated?.has(name)) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, TEX_WIDTH, rows, 0, gl.RGBA, gl.FLOAT, data);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      (this._allocated ??= new Set()).add(name);
    } else {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEX_WIDTH, rows, gl.RGBA, gl.FLOAT, data);
    }
  }

  /** The Gaussians' constant attributes: colours (n*3, RGB in [0,1]), opacities (n), scales (n*3). */
  setGaussians(n, colors, opacities, scales) {
    const rows = textureRows(n);
    if (rows !== this._rows) this._allocated = new Set();
    const col = texelBuffer(n), sc = texelBuffer(n);
    for (let i = 0; i < n; i++) {
      col[i * 4] = colors[i * 3]; col[i * 4 + 1] = colors[i * 3 + 1]; col[i * 4 + 2] = colors[i * 3 + 2];
      col[i * 4 + 3] = opacities[i];
      sc[i * 4] = scales[i * 3]; sc[i * 4 + 1] = scales[i * 3 + 1]; sc[i * 4 + 2] = scales[i * 3 + 2];
    }
    this._texture('color', rows, col);
    this._texture('scale', rows, sc);
    const empty = texelBuffer(n);
    this._texture('mean', rows, empty);
    this._texture('quat', rows, empty);
    this._rows = rows;
    this.n = n;
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.orderBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, n * 4, gl.DYNAMIC_DRAW);
    this.hasOrder = false;
  }

  /** Per-frame centres and rotations: Float32Arrays from texelBuffer(n) (4 floats per Gaussian). */
  setPose(means4, quats4) {
    this._texture('mean', this._rows, means4);
    if (quats4) this._texture('quat', this._rows, quats4);
  }

  /** Draw order (Uint32Array n, far to near). */
  setOrder(order) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.orderBuffer);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, order, 0, this.n);
    this.hasOrder = true;
  }

  /** Draw with a Camera (camera.js) whose width/height are the drawing buffer's size. */
  draw(camera) {
    const gl = this.gl, c = this.canvas;
    if (c.width !== camera.width || c.height !== camera.height) {
      c.width = camera.width;
      c.height = camera.height;
    }
    gl.viewport(0, 0, camera.width, camera.height);
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.CULL_FACE);
    gl.disable(gl.DITHER);
    const [br, bg, bb] = this.background;
    if (this.transparent) gl.clearColor(0, 0, 0, 0); else gl.clearColor(br, bg, bb, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n || !this.hasOrder) return;
    gl.useProgram(this.program);
    const m = camera.worldToCamera;
    // column-major upload of the row-major rotation
    gl.uniformMatrix3fv(this.u.R, false, [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]]);
    gl.uniform3f(this.u.t, m[3], m[7], m[11]);
    const { fx, fy, cx, cy, width: W, height: H } = camera;
    gl.uniform4f(this.u.intr, fx, fy, cx, cy);
    gl.uniform2f(this.u.size, W, H);
    const tanx = (0.5 * W) / fx, tany = (0.5 * H) / fy;
    gl.uniform4f(this.u.lim, (W - cx) / fx + 0.3 * tanx, cx / fx + 0.3 * tanx, (H - cy) / fy + 0.3 * tany, cy / fy + 0.3 * tany);
    const units = ['mean', 'quat', 'scale', 'color'];
    units.forEach((name, i) => {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, this.textures[name]);
      gl.uniform1i(this.u[name], i);
    });
    gl.enable(gl.BLEND);
    gl.blendEquation(gl.FUNC_ADD);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.bindVertexArray(this.vao);
    gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, this.n);
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
    gl.deleteBuffer(this.cornerBuffer);
    gl.deleteBuffer(this.orderBuffer);
    gl.deleteVertexArray(this.vao);
    gl.deleteProgram(this.program);
  }
}
