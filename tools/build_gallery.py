"""The docs' gallery, generated from the code: one entry per preset with its poster frame (the
output, as `layerlapse figure` draws it), a short looping clip (`layerlapse render` at low
size as a GIF), the command that makes the full movie, and the claim the movie shows (its
title card's question and verdict card's answer, worded from the shipped network).

    python tools/build_gallery.py [--out docs/gallery] [--only NAME ...]

Writes ``OUT/index.md`` and ``OUT/<preset>.png``, ``OUT/<preset>.gif`` (the folder is built,
not committed). Every preset renders from its shipped network: nothing trains.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the clip: small and short, so the page stays light (about 0.3-1.5 MB a preset)
CLIP = {"quality": "low", "size": (320, 180), "fps": 8.0, "seconds_per_stage": 0.6}
POSTER = (640, 360)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery")
    ap.add_argument("--only", nargs="*", default=None, help="these presets only")
    args = ap.parse_args()

    import layerlapse as ll
    from layerlapse.app.movie import cards_for
    from layerlapse.app.presets import SCENES

    names = args.only or ll.scene_names()
    tmp = args.out.with_name(args.out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    entries = []
    for name in names:
        t = time.perf_counter()
        prepared = ll.prepare(name, progress=False)
        cards = cards_for(prepared)
        ll.figure(prepared, tmp / f"{name}.png", at="output", size=POSTER, supersample=2, cards=False)
        ll.render(prepared, tmp / f"{name}.gif", progress=False, cards=False, captions="none", **CLIP)
        entries.append((name, SCENES[name].description if name in SCENES else "", cards))
        print(f"{name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    lines = ["# Gallery", "",
             "Every preset, rendered by the docs' build from its shipped network (nothing is trained): the "
             "output as a still, a short clip of the whole movie at low size, the command that makes the "
             "full movie, and the claim the movie's title and verdict cards state.", ""]
    for name, description, cards in entries:
        lines += [f"## {name}", "", description[:1].upper() + description[1:] + ("." if description else ""), "",
                  f"![{name}: the output]({name}.png){{ width=\"48%\" }} "
                  f"![{name}: the whole movie, short]({name}.gif){{ width=\"48%\" }}", "",
                  "```bash", f"layerlapse render {name}", "```", "",
                  f"**Asked:** {cards.title}", "",
                  f"**Shown:** {' '.join(cards.verdict)}", ""]
    (tmp / "index.md").write_text("\n".join(lines))
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"wrote {args.out / 'index.md'} ({len(entries)} presets)")


if __name__ == "__main__":
    main()
