"""One photo to an animatable avatar with the library, then a frame of a hand-written motion rendered from it.

    .venv/bin/python examples/photo_to_avatar.py [PHOTO] [OUT_DIR]

Defaults: examples/astronaut.png (written by `make setup`) and examples/out/. Writes OUT_DIR/avatar.lam
(open it with `lam-serve OUT_DIR/avatar.lam`) and OUT_DIR/smile.png (the avatar at the motion's widest smile,
from 20 degrees to its left).
"""

import sys
from pathlib import Path

from exporter.lamfile import read_lam
from exporter.photo_export import export_photo
from exporter.render_avatar import render_still
from lam_core import load_motion

HERE = Path(__file__).resolve().parent


def main() -> None:
    photo = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "astronaut.png"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "out"
    out.mkdir(parents=True, exist_ok=True)

    report = export_photo(photo, out / "avatar.lam")            # what `lam-export PHOTO -o avatar.lam` does
    print(f"{report.output}: {report.n_gaussians:,} Gaussians, {report.size_bytes / 1e6:.2f} MB")

    avatar = read_lam(out / "avatar.lam").avatar                # a GaussianAvatar: Gaussians + rig
    motion = load_motion(HERE / "motions" / "smile_nod.json")   # any format lam_core reads; channels by name
    smile = int(motion.channels[:, motion.channel_names.index("mouthSmileLeft")].argmax())
    render_still(avatar, out / "smile.png", motion=motion, frame=smile, yaw=20)
    print(f"{out / 'smile.png'}: frame {smile} of {motion.n_frames} ({motion.fps:g} frames/s)")


if __name__ == "__main__":
    main()
