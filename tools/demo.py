"""`make demo`: export the example photo to out/astronaut.lam (with a preview sheet) and serve the viewer
with it and the example motions on http://127.0.0.1:8000 until Ctrl-C."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    photo = ROOT / "examples" / "astronaut.png"
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    avatar = out / "astronaut.lam"
    if not avatar.exists() or avatar.stat().st_mtime < photo.stat().st_mtime:
        cmd = [sys.executable, "-m", "exporter.cli.export", str(photo), "-o", str(avatar),
               "--preview", str(out / "astronaut_preview.png")]
        print("$ lam-export " + " ".join(cmd[3:]), flush=True)
        if subprocess.call(cmd, cwd=ROOT) != 0:
            return 1
    else:
        print(f"{avatar} is up to date (delete it to export again)")
    serve = [sys.executable, "-m", "exporter.cli.serve", str(avatar), "--motions", str(ROOT / "examples" / "motions"),
             *sys.argv[1:]]
    print("$ lam-serve " + " ".join(serve[3:]), flush=True)
    os.execv(sys.executable, serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
