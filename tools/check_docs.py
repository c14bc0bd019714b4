"""Check the built docs site (``make docs`` first), as CI does after building it:

* the gallery holds every preset: its entry, a poster and a clip that are real images;
* every image a page shows exists in the site, and no page loads anything from outside it
  (scripts, styles, images, fonts);
* the start page and the gallery open in headless Chromium with the network cut off, and the
  gallery's screenshot shows the presets' class colours (its images loaded).

    python tools/check_docs.py [--site build/site]

Exits 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUTSIDE = re.compile(r'<(?:script|link|img|source|video|iframe)\b[^>]*\b(?:src|href)="(https?:)?//[^"]*"', re.I)
CSS_OUTSIDE = re.compile(r'url\((["\']?)(https?:)?//', re.I)


def chromium_shot(exe: str, page: Path, png: Path, profile: Path) -> str:
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--allow-file-access-from-files", "--hide-scrollbars",
           "--window-size=1200,1600", "--virtual-time-budget=10000", f"--user-data-dir={profile}", "--no-first-run",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", f"--screenshot={png}",
           page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path, default=ROOT / "build" / "site")
    args = ap.parse_args()
    site: Path = args.site
    problems: list[str] = []
    if not (site / "index.html").is_file():
        print(f"docs: {site / 'index.html'} is missing; run `make docs` first")
        return 1
    import imageio.v3 as iio

    from layerlapse.app.presets import scene_names

    gallery = (site / "gallery" / "index.html").read_text()
    for name in scene_names():
        if f'id="{name}"' not in gallery:
            problems.append(f"gallery: no entry for the preset {name!r}")
        for ext in (".png", ".gif"):
            path = site / "gallery" / f"{name}{ext}"
            try:
                frames = iio.imread(path, index=None) if ext == ".gif" else iio.imread(path)[None]
            except (OSError, ValueError) as exc:
                problems.append(f"gallery: {path.name} is not an image ({exc})")
                continue
            if ext == ".gif" and len(frames) < 10:
                problems.append(f"gallery: {path.name} has {len(frames)} frames, not a clip")
            if frames[0].std() < 5:
                problems.append(f"gallery: {path.name} is blank")
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(errors="replace")
        for hit in OUTSIDE.finditer(text):
            problems.append(f"{page.relative_to(site)}: loads from outside the site: {hit.group(0)[:120]}")
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', text):
            if not src.startswith(("data:", "http:", "https:")) and not (page.parent / src.split("#")[0]).is_file():
                problems.append(f"{page.relative_to(site)}: image {src!r} is not in the site")
    for css in site.rglob("*.css"):
        if CSS_OUTSIDE.search(css.read_text(errors="replace")):
            problems.append(f"{css.relative_to(site)}: a stylesheet loads from outside the site")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        problems.append("chromium is not installed (apt-get install chromium)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for page in (site / "index.html", site / "gallery" / "index.html"):
                png = Path(tmp) / f"{page.parent.name}.png"
                stderr = chromium_shot(exe, page, png, Path(tmp) / "profile")
                if "Uncaught" in stderr or not png.is_file():
                    problems.append(f"{page.relative_to(site)}: Chromium did not show it ({stderr[-300:]})")
                    continue
                shot = iio.imread(png)[..., :3].astype(int)
                if page.parent.name == "gallery":  # the posters' class colours (Okabe-Ito blue and orange)
                    blue = ((abs(shot[..., 0] - 0) < 40) & (abs(shot[..., 1] - 114) < 40) & (abs(shot[..., 2] - 178) < 40))
                    orange = ((abs(shot[..., 0] - 213) < 40) & (abs(shot[..., 1] - 94) < 40) & (abs(shot[..., 2] - 0) < 40))
                    if blue.sum() < 200 or orange.sum() < 200:
                        problems.append(f"gallery: the screenshot shows no class colours (blue {blue.sum()}, "
                                        f"orange {orange.sum()} px): its images did not load")
                elif shot.std() < 5:
                    problems.append(f"{page.relative_to(site)}: the screenshot is blank")
    for line in problems:
        print(f"docs: {line}")
    if not problems:
        print(f"docs: {site} checked: {len(scene_names())} presets in the gallery, no outside requests, "
              "Chromium shows the start page and the gallery")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
