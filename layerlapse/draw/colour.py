"""Colours parsed without a drawing library, to the same numbers PyVista's ``Color`` gives.

A colour is a name (``'white'``, ``'tab:blue'``, ``'paraview'``: PyVista's table, matched
ignoring case, spaces, ``_`` and ``-``), a hex string (``'#0072B2'``, ``'0x0072b2'``, with
an optional alpha pair) or a sequence of 3 or 4 channels (floats in [0, 1] or ints in
[0, 255]). Channels are held as ints 0..255, as PyVista holds them, so ``float_rgb`` and
``hex_rgb`` equal ``pyvista.Color(c).float_rgb`` and ``.hex_rgb`` exactly (a test checks the
whole table); the web page, the style's validation and the drawing model need no VTK.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: a colour name or hex string, or RGB channels
ColourLike = str | tuple[float, float, float]

# PyVista 0.49's named colours (CSS, Tableau, ParaView, VTK) and synonyms: name=rrggbb
_TABLE = """
aliceblue=f0f8ff antiquewhite=faebd7 aquamarine=7fffd4 azure=f0ffff beige=f5f5dc bisque=ffe4c4 black=000000
blanchedalmond=ffebcd blue=0000ff blueviolet=8a2be2 brown=a52a2a burlywood=deb887 cadetblue=5f9ea0
chartreuse=7fff00 chocolate=d2691e coral=ff7f50 cornflowerblue=6495ed cornsilk=fff8dc crimson=dc143c cyan=00ffff
darkblue=00008b darkcyan=008b8b darkgoldenrod=b8860b darkgray=a9a9a9 darkgreen=006400 darkkhaki=bdb76b
darkmagenta=8b008b darkolivegreen=556b2f darkorange=ff8c00 darkorchid=9932cc darkred=8b0000 darksalmon=e9967a
darkseagreen=8fbc8f darkslateblue=483d8b darkslategray=2f4f4f darkturquoise=00ced1 darkviolet=9400d3
deeppink=ff1493 deepskyblue=00bfff dimgray=696969 dodgerblue=1e90ff firebrick=b22222 floralwhite=fffaf0
forestgreen=228b22 gainsboro=dcdcdc ghostwhite=f8f8ff gold=ffd700 goldenrod=daa520 gray=808080 green=008000
greenyellow=adff2f honeydew=f0fff0 hotpink=ff69b4 indianred=cd5c5c indigo=4b0082 ivory=fffff0 khaki=f0e68c
lavender=e6e6fa lavenderblush=fff0f5 lawngreen=7cfc00 lemonchiffon=fffacd lightblue=add8e6 lightcoral=f08080
lightcyan=e0ffff lightgoldenrodyellow=fafad2 lightgray=d3d3d3 lightgreen=90ee90 lightpink=ffb6c1
lightsalmon=ffa07a lightseagreen=20b2aa lightskyblue=87cefa lightslategray=778899 lightsteelblue=b0c4de
lightyellow=ffffe0 lime=00ff00 limegreen=32cd32 linen=faf0e6 magenta=ff00ff maroon=800000
mediumaquamarine=66cdaa mediumblue=0000cd mediumorchid=ba55d3 mediumpurple=9370db mediumseagreen=3cb371
mediumslateblue=7b68ee mediumspringgreen=00fa9a mediumturquoise=48d1cc mediumvioletred=c71585
midnightblue=191970 mintcream=f5fffa mistyrose=ffe4e1 moccasin=ffe4b5 navajowhite=ffdead navy=000080
oldlace=fdf5e6 olive=808000 olivedrab=6b8e23 orange=ffa500 orangered=ff4500 orchid=da70d6 palegoldenrod=eee8aa
palegreen=98fb98 paleturquoise=afeeee palevioletred=db7093 papayawhip=ffefd5 peachpuff=ffdab9 peru=cd853f
pink=ffc0cb plum=dda0dd powderblue=b0e0e6 purple=800080 rebeccapurple=663399 red=ff0000 rosybrown=bc8f8f
royalblue=4169e1 saddlebrown=8b4513 salmon=fa8072 sandybrown=f4a460 seagreen=2e8b57 seashell=fff5ee
sienna=a0522d silver=c0c0c0 skyblue=87ceeb slateblue=6a5acd slategray=708090 snow=fffafa springgreen=00ff7f
steelblue=4682b4 tan=d2b48c teal=008080 thistle=d8bfd8 tomato=ff6347 turquoise=40e0d0 violet=ee82ee wheat=f5deb3
white=ffffff whitesmoke=f5f5f5 yellow=ffff00 yellowgreen=9acd32 paraviewbackground=54596d
paraviewbackgroundwarm=625d5a tab:blue=1f77b4 tab:orange=ff7f0e tab:green=2ca02c tab:red=d62728
tab:purple=9467bd tab:brown=8c564b tab:pink=e377c2 tab:gray=7f7f7f tab:olive=bcbd22 tab:cyan=17becf
alizarincrimson=e32636 aureolineyellow=ffa824 banana=e3cf57 brick=9c661f brownmadder=db2929 brownochre=87421f
burntsienna=8a360f burntumber=8a3324 cadmiumlemon=ffe303 cadmiumorange=ff6103 cadmiumyellow=ff9912 carrot=ed9121
cerulean=05b8cc chromeoxidegreen=668014 cinnabargreen=61b329 cobalt=3d59ab cobaltgreen=3d9140 coldgrey=808a87
deepcadmiumred=e3170d deepcobaltviolet=91219e deepnaplesyellow=ffa812 deepochre=733d1a eggshell=fce6c9
emeraldgreen=00c957 englishred=d43d1a flesh=ff7d40 fleshochre=ff5721 geraniumlake=e31230 goldochre=c77826
greenishumber=ff3d0d ivoryblack=292421 lampblack=2e473b lightcadmiumred=ff030d lightcadmiumyellow=ffb00f
lightslateblue=8470ff lightviridian=6eff70 madderlakedeep=e32e30 manganeseblue=03a89e marsorange=964514
marsyellow=e3701a melon=e3a869 mint=bdfcc9 peacock=33a1c9 permanentgreen=0ac92b permanentredviolet=db2645
raspberry=872657 rawsienna=c76114 rawumber=734a12 rosemadder=e33638 sapgreen=308014 sepia=5e2612
terreverte=385e0f titaniumwhite=fcfff0 turquoiseblue=00c78c ultramarine=120a8f ultramarineviolet=5c246e
vandykebrown=5e2605 venetianred=d41a1f violetred=d02090 warmgrey=808069 yellowochre=e38217 zincwhite=fcf7ff
b=0000ff g=008000 r=ff0000 c=00ffff m=ff00ff y=ffff00 k=000000 w=ffffff aqua=00ffff darkgrey=a9a9a9
darkslategrey=2f4f4f dimgrey=696969 fuchsia=ff00ff grey=808080 lightgrey=d3d3d3 lightslategrey=778899 pv=54596d
paraview=54596d paraviewwarm=625d5a slategrey=708090 lightgoldenrod=fafad2
"""
_NAMES = dict(entry.split("=") for entry in _TABLE.split())
_DELIMITERS = str.maketrans("", "", "_- ")


def _channel(value: object) -> int:
    """One channel as an int 0..255: a hex pair, a float in [0, 1] or an int (PyVista's rules)."""
    if isinstance(value, str):
        value = int(value.lstrip("#").removeprefix("0x"), 16)
    elif isinstance(value, float) or (isinstance(value, np.generic) and np.issubdtype(type(value), np.floating)):
        value = round(255 * float(value))
    if isinstance(value, (int, np.integer)) and 0 <= value <= 255:
        return int(value)
    raise ValueError(f"unsupported colour channel {value!r}")


def rgba(colour: str | Sequence[float]) -> tuple[int, int, int, int]:
    """The channels (red, green, blue, opacity) 0..255 of ``colour``; ValueError if it is none."""
    if isinstance(colour, str):
        text = colour.lower().translate(_DELIMITERS)
        text = _NAMES.get(text, text).lstrip("#").removeprefix("0x")
        parts: Sequence[object] = [text[i:i + 2] for i in range(0, len(text), 2)]
    else:
        parts = list(colour)
    if len(parts) == 3:
        parts = [*parts, 255]
    if len(parts) != 4:
        raise ValueError(f"{colour!r} is not a colour")
    try:
        r, g, b, a = (_channel(p) for p in parts)
    except (ValueError, TypeError):
        raise ValueError(f"{colour!r} is not a colour") from None
    return r, g, b, a


def float_rgb(colour: ColourLike) -> tuple[float, float, float]:
    """RGB in [0, 1] (each channel n / 255)."""
    r, g, b, _ = rgba(colour)
    return r / 255.0, g / 255.0, b / 255.0


def hex_rgb(colour: ColourLike) -> str:
    """``'#rrggbb'``, lower case."""
    r, g, b, _ = rgba(colour)
    return f"#{r:02x}{g:02x}{b:02x}"


def mix(colour: ColourLike, other: ColourLike, share: float) -> tuple[float, float, float]:
    """``colour`` moved ``share`` of the way to ``other``, in RGB (floats, not rounded to channels)."""
    red, green, blue = (1 - share) * np.array(float_rgb(colour)) + share * np.array(float_rgb(other))
    return red, green, blue
