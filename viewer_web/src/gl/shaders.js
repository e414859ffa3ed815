// GLSL of the splat renderer. One instanced quad per Gaussian, in back-to-front order; the vertex shader
// projects the Gaussian exactly as gsplat 1.5 classic does (EWA, Jacobian with clamped x/z and y/z, +0.3 on
// the 2D covariance diagonal, opacity-aware extent min(3.33, sqrt(2 ln(255 o))), the same culling); the quad
// is the oriented rectangle around that ellipse, and the fragment shader evaluates the same falloff at the
// pixel centre: alpha = min(0.999, o exp(-sigma)), discarded under 1/255, premultiplied output.

import { TEX_WIDTH, TEX_WIDTH_LOG2 } from '../texels.js';

export const SPLAT_VS = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;

uniform sampler2D u_mean;   // xyz: deformed centre
uniform sampler2D u_quat;   // wxyz: deformed rotation
uniform sampler2D u_scale;  // xyz: scale
uniform sampler2D u_color;  // rgb, opacity
uniform mat3 u_R;           // world -> camera rotation
uniform vec3 u_t;           // world -> camera translation
uniform vec4 u_intr;        // fx, fy, cx, cy (pixels)
uniform vec2 u_size;        // image width, height (pixels)
uniform vec4 u_lim;         // clamp of x/z and y/z: +x, -x, +y, -y

layout(location = 0) in vec2 a_corner;  // (+-1, +-1)
layout(location = 1) in uint a_index;   // which Gaussian (sorted far to near)

out vec2 v_d;               // offset of this corner from the projected centre, pixels (x right, y down)
flat out vec3 v_conic;
flat out vec4 v_color;

const float ALPHA_MIN = 1.0 / 255.0;

void cull() { gl_Position = vec4(0.0, 0.0, 2.0, 1.0); }

void main() {
  ivec2 tc = ivec2(int(a_index & ${TEX_WIDTH - 1}u), int(a_index >> ${TEX_WIDTH_LOG2}u));
  vec3 p = u_R * texelFetch(u_mean, tc, 0).xyz + u_t;
  if (!(p.z >= 0.01 && p.z <= 1e10)) { cull(); return; }
  vec4 col = texelFetch(u_color, tc, 0);
  float o = col.a;
  if (!(o >= ALPHA_MIN)) { cull(); return; }

  vec4 q = texelFetch(u_quat, tc, 0);
  q *= inversesqrt(dot(q, q));
  float w = q.x, x = q.y, y = q.z, z = q.w;
  vec3 s = texelFetch(u_scale, tc, 0).xyz;
  // M = rotmat(q) diag(s), columns; T = R_cam M so that the camera-space covariance is T T^T
  mat3 M = mat3(
    s.x * vec3(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    s.y * vec3(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    s.z * vec3(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)));
  mat3 T = u_R * M;

  float fx = u_intr.x, fy = u_intr.y;
  float rz = 1.0 / p.z;
  float tx = p.z * min(u_lim.x, max(-u_lim.y, p.x * rz));
  float ty = p.z * min(u_lim.z, max(-u_lim.w, p.y * rz));
  vec3 j0 = vec3(fx * rz, 0.0, -fx * tx * rz * rz);
  vec3 j1 = vec3(0.0, fy * rz, -fy * ty * rz * rz);
  vec3 g0 = j0 * T;  // row vector J_0 T
  vec3 g1 = j1 * T;
  float a = dot(g0, g0) + 0.3;
  float b = dot(g0, g1);
  float c = dot(g1, g1) + 0.3;
  float det = a * c - b * b;
  if (!(det > 0.0)) { cull(); return; }
  vec2 mean2d = vec2(fx * p.x * rz + u_intr.z, fy * p.y * rz + u_intr.w);

  float extend = min(3.33, sqrt(2.0 * log(o / ALPHA_MIN)));
  vec2 r = ceil(extend * sqrt(vec2(a, c)));
  if (mean2d.x + r.x <= 0.0 || mean2d.x - r.x >= u_size.x || mean2d.y + r.y <= 0.0 || mean2d.y - r.y >= u_size.y) {
    cull(); return;
  }

  // oriented rectangle around the ellipse d^T cov^-1 d = extend^2
  float mid = 0.5 * (a + c);
  float disc = sqrt(max(mid * mid - det, 0.0));
  float l1 = mid + disc, l2 = max(mid - disc, 0.0);
  vec2 v1 = abs(b) > 1e-12 * max(a, c) ? normalize(vec2(b, l1 - a)) : (a >= c ? vec2(1.0, 0.0) : vec2(0.0, 1.0));
  vec2 v2 = vec2(-v1.y, v1.x);
  vec2 d = a_corner.x * (extend * sqrt(l1) + 0.01) * v1 + a_corner.y * (extend * sqrt(l2) + 0.01) * v2;

  v_d = d;
  v_conic = vec3(c, -b, a) / det;
  v_color = col;
  vec2 px = mean2d + d;
  gl_Position = vec4(2.0 * px.x / u_size.x - 1.0, 1.0 - 2.0 * px.y / u_size.y, 0.0, 1.0);
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
  if (sigma < 0.0) discard;
  float alpha = min(0.999, v_color.a * exp(-sigma));
  if (alpha < 1.0 / 255.0) discard;
  fragColor = vec4(v_color.rgb * alpha, alpha);
}
`;
