"""Parses a build.envd with Python's parser, checks it stays inside the Starlark subset envd reads, then runs
build() against recording stand-ins for envd's functions and prints the calls as JSON: what envd would receive."""

import ast
import json
import sys

ALLOWED = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.Expr, ast.Call, ast.Attribute, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Dict, ast.keyword,
)

source = open(sys.argv[1], encoding="utf-8").read()
tree = ast.parse(source)
for node in ast.walk(tree):
    if not isinstance(node, ALLOWED):
        raise SystemExit(f"not in the build.envd subset: {type(node).__name__} at line {getattr(node, 'lineno', '?')}")
functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
if functions != ["build"] or len(tree.body) != 1:
    raise SystemExit(f"expected exactly one top-level def build(), found {ast.dump(tree)[:200]}")

calls = []


class Recorder:
    def __init__(self, prefix):
        self.prefix = prefix

    def __getattr__(self, name):
        return Recorder(f"{self.prefix}.{name}" if self.prefix else name)

    def __call__(self, *args, **kwargs):
        if args:
            raise SystemExit(f"{self.prefix} called with positional arguments")
        calls.append({"fn": self.prefix, "args": kwargs})


scope = {name: Recorder(name) for name in ("base", "install", "config", "io", "runtime", "run")}
exec(compile(tree, "build.envd", "exec"), scope)
scope["build"]()
json.dump(calls, sys.stdout, ensure_ascii=False)
