"""Write the example inputs into examples/: the astronaut portrait (public domain, NASA, bundled with
scikit-image) and the procedural example motions. Nothing third-party is committed; this runs at setup."""

import sys
from pathlib import Path

from PIL import Image

from lam_core.atomic import atomic_path
from lam_core.example_motions import write_example_motions


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    photo = out / "astronaut.png"
    if not photo.exists():
        from skimage import data

        with atomic_path(photo) as tmp:
            Image.fromarray(data.astronaut()).save(tmp)
    write_example_motions(out / "motions")
    print(f"examples written to {out}/ (astronaut.png, motions/)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples")
