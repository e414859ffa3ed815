"""`make demo`: export the example photo and serve the viewer (steps appear as their capabilities land).

Until the photo exporter lands, the viewer is served with a synthetic FLAME-layout avatar (written to
out/synthetic.lam) and the example motions."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    photo = ROOT / "examples" / "astronaut.png"
    print(f"example photo: {photo}")
    print("photo -> avatar export (lam-export): coming soon")
    avatar = ROOT / "out" / "synthetic.lam"
    if not avatar.exists():
        from exporter.lamfile import write_lam
        from lam_core.synthetic import synthetic_avatar

        avatar.parent.mkdir(exist_ok=True)
        write_lam(avatar, synthetic_avatar(1))
        print(f"wrote a synthetic FLAME-layout avatar to {avatar}")
    serve = [sys.executable, "-m", "exporter.cli.serve", str(avatar), "--motions", str(ROOT / "examples" / "motions")]
    print("viewer: " + " ".join(serve[2:]), flush=True)
    os.execv(sys.executable, serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
