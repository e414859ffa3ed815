// Joints by name. A rig names its own joints (a .lam's rig.joint_names: up to 1024, in any order, parents
// first); a motion's pose and the parameters the page makes itself (idle animation, webcam solver) are
// about FLAME's joints, found in a rig by name, never by position. FLAME_JOINTS is the twin of
// lam_core.head_model.JOINT_NAMES (tests/test_lam_motion_json.py pins them) and the joint order of a
// lam-motion file's pose.

export const FLAME_JOINTS = Object.freeze(['global', 'neck', 'jaw', 'eye_l', 'eye_r']);

/** For each name in `from`, its index in `to`, or -1 where `to` has no joint of that name. */
export function jointMap(from, to) {
  const index = new Map(Array.from(to, (n, i) => [n, i]));
  return Array.from(from, (n) => index.get(n) ?? -1);
}
