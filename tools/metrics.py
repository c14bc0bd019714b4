"""Code-shape counts for the architecture notes: long functions, long parameter lists, long
modules, and modules flat at the package's top level.

    python tools/metrics.py [PACKAGE_DIR]     # default: layerlapse
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "layerlapse")
    functions, modules = [], []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        modules.append((len(source.splitlines()), str(path)))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg)
                params -= bool(a.args) and a.args[0].arg in ("self", "cls")
                doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) \
                    and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str) else None
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                code = lines - ((doc.end_lineno or doc.lineno) - doc.lineno + 1 if doc is not None else 0)
                functions.append((lines, params, f"{path}:{node.lineno} {node.name}", code))
    long = sorted((f for f in functions if f[0] > 60), reverse=True)
    wide = sorted((f for f in functions if f[1] > 8), key=lambda f: -f[1])
    big = sorted((m for m in modules if m[0] > 500), reverse=True)
    flat = [p.name for p in root.glob("*.py")]
    print(f"functions over 60 lines (docstring included): {len(long)}; "
          f"over 60 lines of code (docstring excluded): {sum(f[3] > 60 for f in functions)}")
    for lines, _, where, code in long:
        print(f"  {lines:4d} ({code:3d} of code)  {where}")
    print(f"functions with more than 8 parameters: {len(wide)}")
    for _, params, where, _ in wide:
        print(f"  {params:4d}  {where}")
    print(f"modules over 500 lines: {len(big)}")
    for lines, where in big:
        print(f"  {lines:4d}  {where}")
    print(f"modules flat at the top level: {len(flat)} ({', '.join(sorted(flat))})")
    print(f"longest module: {max(modules)[0]} lines; longest function: {max(functions)[0]} lines")


if __name__ == "__main__":
    main()
