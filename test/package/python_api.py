"""Reads Python source with the standard ast module, for the package checks (test/package/python-bindings.test.ts).

  python3 python_api.py describe <module/__init__.py>
      the module's top-level classes: {class: {member: [parameter names]}}; an enum member or a
      constant has no parameters
  python3 python_api.py uses <module name>   (the snippet on stdin)
      what the snippet uses from that module: classes, calls with their keyword arguments, and
      attributes, each with its line; {"error": ...} when the snippet does not parse

Only the standard library: the aws_cdk Python packages are not installed here (PyPI is unreachable).
"""
import ast
import json
import sys


def describe(path):
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), filename=path)
    classes = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        members = {}
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = item.args
                names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                members[item.name] = [n for n in names if n not in ("self", "cls")]
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name):
                        members[target.id] = []
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                members[item.target.id] = []
        classes[node.name] = members
    return classes


class Uses(ast.NodeVisitor):
    """Follows the names a snippet binds to the module: imported classes, a module alias, and
    variables assigned an instance of one of its classes (`trader = PredictToTrade(...)`)."""

    def __init__(self, module):
        self.module = module
        self.class_aliases = {}  # local name -> class name
        self.module_aliases = set()
        self.instances = {}  # variable -> class name
        self.uses = []
        self.seen_calls = set()

    def visit_ImportFrom(self, node):
        if node.module == self.module:
            for alias in node.names:
                self.class_aliases[alias.asname or alias.name] = alias.name
                self.uses.append({"line": node.lineno, "class": alias.name})

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name == self.module:
                self.module_aliases.add(alias.asname or alias.name)

    def class_of(self, node):
        """The module's class a name or `module.Class` expression stands for."""
        if isinstance(node, ast.Name):
            return self.class_aliases.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.module_aliases:
            return node.attr
        return None

    def target(self, node):
        """(class, member) for `Class`, `Class.member` or `instance.member`; None when not the module's."""
        cls = self.class_of(node)
        if cls:
            return cls, None
        if isinstance(node, ast.Attribute):
            owner = self.class_of(node.value)
            if owner:
                return owner, node.attr
            if isinstance(node.value, ast.Name) and node.value.id in self.instances:
                return self.instances[node.value.id], node.attr
        return None

    def visit_Assign(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Call):
            found = self.target(node.value.func)
            if found and found[1] is None:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.instances[target.id] = found[0]

    def visit_Call(self, node):
        found = self.target(node.func)
        if found:
            cls, member = found
            keywords = [k.arg for k in node.keywords if k.arg is not None]
            self.uses.append({"line": node.lineno, "class": cls, "member": member or "__init__", "keywords": keywords})
            self.seen_calls.add(id(node.func))
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if id(node) not in self.seen_calls:
            found = self.target(node)
            if found and found[1] is not None:
                self.uses.append({"line": node.lineno, "class": found[0], "member": found[1]})
        self.generic_visit(node)


def uses(module, code):
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return {"error": f"line {error.lineno}: {error.msg}"}
    visitor = Uses(module)
    visitor.visit(tree)
    if visitor.module_aliases:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in visitor.module_aliases:
                visitor.uses.append({"line": node.lineno, "class": node.attr})
    return {"uses": visitor.uses}


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    if command == "describe":
        print(json.dumps(describe(argument)))
    elif command == "uses":
        print(json.dumps(uses(argument, sys.stdin.read())))
    else:
        sys.exit(f"unknown command {command}")
