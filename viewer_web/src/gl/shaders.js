// GLSL of the splat renderer.
//
// projectSplat() projects one Gaussian exactly as gsplat 1.5 classic does: EWA with the Jacobian's x/z and
// y/z clamped to 1.3x the field of view, +0.3 on the 2D covariance diagonal, culled outside the near/far
// planes, with a non-positive determinant, an opacity under 1/255, or a box mean2d +- radius wholly off the
// image, radius = ceil(extend sqrt(cov_ii)) with the opacity-aware extend = min(3.33, sqrt(2 ln(255 o))).
// The quad drawn is the oriented rectangle around the ellipse d^T cov^-1 d = extend^2, which holds every
// pixel whose alpha reaches 1/255 (the reference's tiles hold them too; nothing outside contributes).
//
// The fragment shader evaluates the same falloff at the pixel centre: sigma = 0.5 (a dx^2 + c dy^2) + b dx dy,
// alpha = min(0.999, o exp(-sigma)), and writes premultiplied (rgb alpha, alpha) with alpha forced to 0 under
// 1/255 (or for sigma < 0): blending a zero is exactly a skip, and avoids `discard`, which is slow on
// software rasterisers. Back-to-front order with ONE, ONE_MINUS_SRC_ALPHA gives the reference's
// front-to-back sum + T * background.
//
// Splats are drawn non-instanced (4 vertices + 6 indices each, Gaussian = order[gl_VertexID / 4]): SwiftShader
// runs every instance of an instanced draw as a draw of its own (5x slower here). Projecting once per
// Gaussian in a separate pass into float textures was measured too: no faster on llvmpipe or SwiftShader, and
// an extra render-target switch on phones' tiled GPUs, so each of the 4 vertices projects its Gaussian.

import { TEX_WIDTH, TEX_WIDTH_LOG2 } from '../texels.js';

const TEXEL = `ivec2 texel(uint i) { return ivec2(int(i & ${TEX_WIDTH - 1}u), int(i >> ${TEX_WIDTH_LOG2}u)); }`;

const PROJECT = `
uniform highp sampler2D u_mean;   // xyz: deformed centre
uniform highp sampler2D u_quat;   // wxyz: deformed rotation
uniform highp sampler2D u_scale;  // xyz: scale
uniform highp sampler2D u_color;  // rgb, opacity
uniform mat3 u_R;                 // world -> camera rotation
uniform vec3 u_t;                 // world -> camera translation
uniform vec4 u_intr;              // fx, fy, cx, cy (pixels)
uniform vec2 u_size;              // image width, height (pixels)
uniform vec4 u_lim;               // clamp of x/z and y/z: +x, -x, +y, -y

const float ALPHA_MIN = 1.0 / 255.0;

// false when culled; else the centre (pixels), the rectangle's half axes (pixels) and the conic (a, b, c)
bool projectSplat(uint idx, out vec2 mean2d, out vec2 ax1, out vec2 ax2, out vec3 conic) {
  ivec2 tc = texel(idx);
  vec3 p = u_R * texelFetch(u_mean, tc, 0).xyz + u_t;
  if (!(p.z >= 0.01 && p.z <= 1e10)) return false;
  float o = texelFetch(u_color, tc, 0).a;
  if (!(o >= ALPHA_MIN)) return false;
  vec4 q = texelFetch(u_quat, tc, 0);
  q *= inversesqrt(dot(q, q));
  float w = q.x, x = q.y, y = q.z, z = q.w;
  vec3 s = texelFetch(u_scale, tc, 0).xyz;
  // M = rotmat(q) diag(s) (columns); T = R_cam M, so the camera-space covariance is T T^T
  mat3 M = mat3(
    s.x * vec3(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    s.y * vec3(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    s.z * vec3(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)));
  mat3 T = u_R * M;
  float fx = u_intr.x, fy = u_intr.y;
  float rz = 1.0 / p.z;
  float tx = p.z * min(u_lim.x, max(-u_lim.y, p.x * rz));
  float ty = p.z * min(u_lim.z, max(-u_lim.w, p.y * rz));
  vec3 g0 = vec3(fx * rz, 0.0, -fx * tx * rz * rz) * T;   // row J_0 T
  vec3 g1 = vec3(0.0, fy * rz, -fy * ty * rz * rz) * T;   // row J_1 T
  float a = dot(g0, g0) + 0.3;
  float b = dot(g0, g1);
  float c = dot(g1, g1) + 0.3;
  float det = a * c - b * b;
  if (!(det > 0.0)) return false;
  mean2d = vec2(fx * p.x * rz + u_intr.z, fy * p.y * rz + u_intr.w);
  float extend = min(3.33, sqrt(2.0 * log(o / ALPHA_MIN)));
  vec2 r = ceil(extend * sqrt(vec2(a, c)));
  if (mean2d.x + r.x <= 0.0 || mean2d.x - r.x >= u_size.x || mean2d.y + r.y <= 0.0 || mean2d.y - r.y >= u_size.y) return false;
  float mid = 0.5 * (a + c);
  float disc = sqrt(max(mid * mid - det, 0.0));
  float l1 = mid + disc, l2 = max(mid - disc, 0.0);
  vec2 v1 = abs(b) > 1e-12 * max(a, c) ? normalize(vec2(b, l1 - a)) : (a >= c ? vec2(1.0, 0.0) : vec2(0.0, 1.0));
  ax1 = (extend * sqrt(l1) + 0.01) * v1;
  ax2 = (extend * sqrt(l2) + 0.01) * vec2(-v1.y, v1.x);
  conic = vec3(c, -b, a) / det;
  return true;
}
`;

const SPLAT_OUT = `
out vec2 v_d;               // offset from the projected centre, pixels (x right, y down)
flat out vec3 v_conic;
flat out vec4 v_color;

void emit(vec2 mean2d, vec2 d, vec3 conic, vec4 color) {
  v_d = d;
  v_conic = conic;
  v_color = color;
  vec2 px = mean2d + d;
  gl_Position = vec4(2.0 * px.x / u_size.x - 1.0, 1.0 - 2.0 * px.y / u_size.y, 0.0, 1.0);
}

// this vertex's Gaussian (in draw order) and corner
uniform highp usampler2D u_order;
uint splatIndex() { return texelFetch(u_order, texel(uint(gl_VertexID >> 2)), 0).x; }
vec2 corner() { int k = gl_VertexID & 3; return vec2(float(k & 1) * 2.0 - 1.0, float(k >> 1) * 2.0 - 1.0); }
`;

/** Splat pass: each vertex projects its Gaussian and places its corner of the rectangle. */
export const SPLAT_VS = `#version 300 es
precision highp float;
precision highp int;
${TEXEL}
${PROJECT}
${SPLAT_OUT}
void main() {
  uint idx = splatIndex();
  vec2 mean2d, ax1, ax2; vec3 conic;
  if (!projectSplat(idx, mean2d, ax1, ax2, conic)) { gl_Position = vec4(0.0, 0.0, 2.0, 1.0); return; }
  vec2 k = corner();
  emit(mean2d, k.x * ax1 + k.y * ax2, conic, texelFetch(u_color, texel(idx), 0));
}
`;

export const SPLAT_FS = `#version 300 es
precision highp float;

in vec2 v_d;
flat in vec3 v_conic;
flat in vec4 v_color;
out vec4 fragColor;

void main() {
  float sigma = 0.5 * (v_conic.x * v_d.x * v_d.x + v_conic.z * v_d.y * v_d.y) + v_conic.y * v_d.x * v_d.y;
  float alpha = min(0.999, v_color.a * exp(-sigma));
  if (sigma < 0.0 || alpha < 1.0 / 255.0) alpha = 0.0;
  fragColor = vec4(v_color.rgb * alpha, alpha);
}
`;
