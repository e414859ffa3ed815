// Pinhole cameras in OpenCV convention, mirroring lam_core/camera.py exactly (so that the browser's pixels
// can be compared with the reference renderer's):
//  - world: metres, y up, the head looks along +z; camera space: x right, y down, z forward;
//  - worldToCamera: 4x4 row-major (Float64Array 16), p_cam = R p + t;
//  - pixel (u, v) = (fx x/z + cx, fy y/z + cy) from the image's top-left corner, pixel centres at +0.5;
//  - fov is the vertical full angle, fx = fy; orbit eye = target + d (sin yaw cos pitch, sin pitch, cos yaw cos pitch).

export const DEFAULT_FOV_DEG = 25.0;
export const FRAMING_MARGIN = 1.05;

const rad = (d) => (d * Math.PI) / 180;

export class Camera {
  constructor({ width, height, fx, fy, cx, cy, worldToCamera }) {
    this.width = width; this.height = height;
    this.fx = fx; this.fy = fy; this.cx = cx; this.cy = cy;
    this.worldToCamera = Float64Array.from(worldToCamera ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  }

  /** From a JSON-like object as lam-verify sends it: {width, height, fx, fy, cx, cy, world_to_camera
   * (4x4 nested or 16 flat, row-major)}. */
  static fromJSON(o) {
    const m = o.worldToCamera ?? o.world_to_camera;
    const flat = Array.isArray(m?.[0]) ? m.flat() : Array.from(m ?? []);
    if (flat.length !== 16 || !flat.every(Number.isFinite)) throw new Error('camera: world_to_camera must be 4x4 finite');
    for (const k of ['width', 'height', 'fx', 'fy', 'cx', 'cy']) {
      if (!Number.isFinite(o[k])) throw new Error(`camera: ${k} must be a number`);
    }
    return new Camera({ width: o.width, height: o.height, fx: o.fx, fy: o.fy, cx: o.cx, cy: o.cy, worldToCamera: flat });
  }

  static intrinsicsFor(fovDeg, width, height) {
    const f = (0.5 * height) / Math.tan(rad(fovDeg) / 2);
    return { fx: f, fy: f, cx: width / 2, cy: height / 2 };
  }

  static lookAt(eye, target, up = [0, 1, 0], fovDeg = DEFAULT_FOV_DEG, width = 512, height = 512) {
    let f = [target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]];
    const fn = Math.hypot(...f);
    f = f.map((x) => x / fn);
    let r = cross(f, up);
    const rn = Math.hypot(...r);
    r = r.map((x) => x / rn);
    const d = cross(f, r);
    const R = [r, d, f];
    const m = new Float64Array(16);
    for (let i = 0; i < 3; i++) {
      m[i * 4] = R[i][0]; m[i * 4 + 1] = R[i][1]; m[i * 4 + 2] = R[i][2];
      m[i * 4 + 3] = -(R[i][0] * eye[0] + R[i][1] * eye[1] + R[i][2] * eye[2]);
    }
    m[15] = 1;
    return new Camera({ width, height, ...Camera.intrinsicsFor(fovDeg, width, height), worldToCamera: m });
  }

  static orbit(target, distance, yawDeg = 0, pitchDeg = 0, fovDeg = DEFAULT_FOV_DEG, width = 512, height = 512) {
    const yaw = rad(yawDeg), pitch = rad(pitchDeg);
    const dir = [Math.sin(yaw) * Math.cos(pitch), Math.sin(pitch), Math.cos(yaw) * Math.cos(pitch)];
    const eye = [target[0] + distance * dir[0], target[1] + distance * dir[1], target[2] + distance * dir[2]];
    return Camera.lookAt(eye, target, [0, 1, 0], fovDeg, width, height);
  }
}

function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** Centre (bounding box centre) and radius of a sphere holding the points (flat array, `stride` floats
 * per point), as lam_core.camera.bounding_sphere. */
export function boundingSphere(points, stride = 3) {
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < points.length; i += stride) {
    for (let c = 0; c < 3; c++) {
      const v = points[i + c];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
  }
  if (!(lo[0] <= hi[0])) return { centre: [0, 0, 0], radius: 1 };
  const centre = [0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), 0.5 * (lo[2] + hi[2])];
  let r2 = 0;
  for (let i = 0; i + 2 < points.length; i += stride) {
    const dx = points[i] - centre[0], dy = points[i + 1] - centre[1], dz = points[i + 2] - centre[2];
    r2 = Math.max(r2, dx * dx + dy * dy + dz * dz);
  }
  return { centre, radius: Math.max(Math.sqrt(r2), 1e-6) };
}

/** The distance at which an orbit camera keeps a sphere of `radius` in view (lam_core.camera.avatar_camera). */
export function framingDistance(radius, fovDeg, width, height) {
  let half = rad(fovDeg) / 2;
  if (width < height) half = Math.atan(Math.tan(half) * width / height);
  return (FRAMING_MARGIN * radius) / Math.sin(half);
}

/** An orbit camera framing the points from every angle (lam_core.camera.avatar_camera). */
export function avatarCamera(points, { yawDeg = 0, pitchDeg = 0, width = 512, height = 512, fovDeg = DEFAULT_FOV_DEG, stride = 3 } = {}) {
  const { centre, radius } = boundingSphere(points, stride);
  return Camera.orbit(centre, framingDistance(radius, fovDeg, width, height), yawDeg, pitchDeg, fovDeg, width, height);
}
