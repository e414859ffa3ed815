"""`make demo`: export the example photo and serve the viewer (steps appear as their capabilities land)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    photo = ROOT / "examples" / "astronaut.png"
    print(f"example photo: {photo}")
    print("photo -> avatar export (lam-export): coming soon")
    print("viewer (lam-serve): coming soon")
    return 0


if __name__ == "__main__":
    sys.exit(main())
