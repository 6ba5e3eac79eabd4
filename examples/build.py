"""Build the function package: app/ zipped with fixed timestamps and modes, so the same source always
makes the same bytes (and Terraform sees no change when the code did not change).

    python3 build.py dist/app.zip
"""

import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "app"
EPOCH = (1980, 1, 1, 0, 0, 0)


def build(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts):
            info = zipfile.ZipInfo(path.relative_to(SOURCE).as_posix(), EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 build.py <output.zip>")
    print(build(Path(sys.argv[1])))
