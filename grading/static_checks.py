"""What reading a student's code (never running it) says is wrong.

Everything here is derived from the student's own files and the assignment's public interface
(the functions its statement, visible tests or starter code name), never from a hidden test:
so it may be shown to the student for any failure, hidden or not, and given to the model.
Python's own parser (``ast``, ``symtable``) reads the code; nothing is executed.

Findings, most fundamental first:
  - ``syntax``: the main file cannot be read by Python (the code does not run at all);
  - ``input_at_import``: the module reads input when imported (tests import it, then call its
    functions: the read fails with EOFError before any test runs);
  - ``missing_function``: a function the tests call is not defined (misnamed?);
  - ``wrong_arity``: it is defined with a different number of parameters than the tests use;
  - ``prints_not_returns``: it prints its result and returns nothing;
  - ``undefined_name``: a name is used that nothing defines (a NameError when that line runs).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import re
import symtable
from collections.abc import Iterator
from dataclasses import dataclass

MAX_SOURCE = 300_000  # submissions are capped below this; a larger text is not analysed


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    file: str
    line: int | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class Interface:
    """What the tests need of the main module: function name -> (min, max) positional args
    the reference accepts (max None: *args). ``imports_module``: some test imports the module
    (expression and pytest tests) rather than running it as a program."""

    functions: dict[str, tuple[int, int | None]]
    imports_module: bool
    module_globals: frozenset[str] = frozenset()  # names the setup snippet adds (module scope)


def parse(source: str, name: str) -> tuple[ast.Module | None, Finding | None]:
    if len(source) > MAX_SOURCE:
        return None, None
    try:
        return ast.parse(source, filename=name), None
    except SyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        where = f" line {line}" if line else ""
        return None, Finding("syntax", f"Python cannot read {name}{where}: {exc.msg}.", name, line)
    except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting: not ours to judge
        return None, None


def arity(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int | None]:
    args = function.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return required, None if args.vararg else positional


def interface_of(
    reference: str | None,
    public_text: str,
    imports_module: bool,
    module_globals: frozenset[str] = frozenset(),
) -> Interface:
    """The functions of the reference solution that the public text names (statement, visible
    tests, starter code): the names are public, so checking them tells the student nothing new."""
    functions: dict[str, tuple[int, int | None]] = {}
    tree, _ = parse(reference or "", "reference.py")
    for node in tree.body if tree else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and re.search(
            rf"\b{re.escape(node.name)}\b", public_text
        ):
            functions[node.name] = arity(node)
    return Interface(functions, imports_module, module_globals)


def check(files: dict[str, str], main_file: str, interface: Interface) -> list[Finding]:
    """The findings for ``files``. Never raises on any text: code built to exhaust the parser's
    or this module's recursion simply yields no findings (the sandbox still judges it)."""
    try:
        return _check(files, main_file, interface)
    except (RecursionError, MemoryError, ValueError):
        return []


def _check(files: dict[str, str], main_file: str, interface: Interface) -> list[Finding]:
    source = files.get(main_file, "")
    tree, broken = parse(source, main_file)
    if broken:
        return [broken]
    if tree is None:
        return []
    findings: list[Finding] = []
    if interface.imports_module:
        findings += _input_at_import(tree, main_file)
    defined = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for name, (low, high) in sorted(interface.functions.items()):
        function = defined.get(name)
        if function is None:
            if name in _bound_names(tree):
                continue  # defined some other way (assigned, imported): not ours to second-guess
            close = difflib.get_close_matches(name, list(defined), n=1)
            guess = f" (is it your `{close[0]}`?)" if close else ""
            findings.append(
                Finding(
                    "missing_function",
                    f"The tests call `{name}`, which {main_file} does not define{guess}.",
                    main_file,
                )
            )
            continue
        mine_low, mine_high = arity(function)
        if not _overlap((low, high), (mine_low, mine_high)):
            findings.append(
                Finding(
                    "wrong_arity",
                    f"The tests call `{name}` with {_count(low, low)}; yours takes {_count(mine_low, mine_high)}.",
                    main_file,
                    function.lineno,
                )
            )
        if _prints_not_returns(function):
            findings.append(
                Finding(
                    "prints_not_returns",
                    f"`{name}` prints its result but does not return it (it returns None): "
                    "the tests use the value a function returns, not what it prints.",
                    main_file,
                    function.lineno,
                )
            )
    findings += _undefined_names(source, tree, main_file, interface.module_globals | _other_modules(files))
    return findings


def does_not_run(findings: list[Finding]) -> Finding | None:
    """The finding that means no test can run: the main file cannot be read."""
    return next((f for f in findings if f.kind == "syntax"), None)


# -- the checks -------------------------------------------------------------------------------
def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and "__name__" in ast.unparse(node.test)
        and "__main__" in ast.unparse(node.test)
    )


def _module_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run when the module is imported: not in functions, classes or the
    ``if __name__ == "__main__"`` block."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ) or _is_main_guard(node):
            continue
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def _input_at_import(tree: ast.Module, name: str) -> list[Finding]:
    for statement in _module_level(tree):
        for node in ast.walk(statement):
            if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
                break
            if isinstance(node, ast.Call) and _reads_input(node):
                return [
                    Finding(
                        "input_at_import",
                        f"{name} reads input at line {node.lineno} as soon as it is imported. The tests "
                        "import your file and call its functions, so there is no input to read: move the "
                        'reading into `if __name__ == "__main__":` (or into a function).',
                        name,
                        node.lineno,
                    )
                ]
    return []


def _reads_input(call: ast.Call) -> bool:
    text = ast.unparse(call.func)
    return text == "input" or text.startswith("sys.stdin.")


def _prints_not_returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    prints = returns_value = False
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue  # nested scopes do not return for this function
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                returns_value = True
        if isinstance(node, ast.Yield | ast.YieldFrom):
            returns_value = True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            prints = True
        stack.extend(ast.iter_child_nodes(node))
    return prints and not returns_value


def _bound_names(tree: ast.Module) -> set[str]:
    table = symtable.symtable(ast.unparse(tree), "module", "exec")
    return {
        s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()
    }


def _other_modules(files: dict[str, str]) -> frozenset[str]:
    return frozenset(name.removesuffix(".py") for name in files)


KNOWN = frozenset(dir(builtins)) | {
    "__name__",
    "__file__",
    "__doc__",
    "__spec__",
    "__builtins__",
    "__loader__",
}


def _undefined_names(source: str, tree: ast.Module, name: str, extra: frozenset[str]) -> list[Finding]:
    """Names read somewhere that no scope binds and that are not builtins: a NameError when that
    line runs. Reported at the first line that reads each (at most three)."""
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return []  # a star import may define anything
    try:
        top = symtable.symtable(source, name, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    module_bound = {
        s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()
    }
    declared_global: set[str] = set()
    unknown: set[str] = set()
    anywhere: set[str] = set()  # names bound in any scope: candidates for "did you mean"
    stack = [top]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_assigned() or symbol.is_parameter() or symbol.is_imported():
                anywhere.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                declared_global.add(symbol.get_name())
            if (
                symbol.is_referenced()
                and (symbol.is_global() or table is top)
                and not (symbol.is_assigned() or symbol.is_imported() or symbol.is_parameter())
            ):
                unknown.add(symbol.get_name())
    missing = sorted(unknown - module_bound - declared_global - KNOWN - extra)
    if not missing:
        return []
    first_use: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in missing:
            first_use[node.id] = min(first_use.get(node.id, node.lineno), node.lineno)
    bound = sorted(anywhere | module_bound | declared_global)
    findings = []
    for missing_name in sorted(missing, key=lambda n: first_use.get(n, 0))[:3]:
        close = difflib.get_close_matches(missing_name, bound, n=1)
        guess = f" (did you mean `{close[0]}`?)" if close else ""
        line = first_use.get(missing_name)
        findings.append(
            Finding(
                "undefined_name",
                f"Line {line} uses `{missing_name}`, which is never defined{guess}: "
                "Python stops with a NameError when that line runs.",
                name,
                line,
            )
        )
    return findings


def _overlap(a: tuple[int, int | None], b: tuple[int, int | None]) -> bool:
    """Do two (min, max) ranges of accepted argument counts share the count the tests use?
    The reference's required count is what the tests pass."""
    wanted = a[0]
    return b[0] <= wanted and (b[1] is None or wanted <= b[1])


def _count(low: int, high: int | None) -> str:
    if high == low:
        return f"{low} argument{'s' if low != 1 else ''}"
    if high is None:
        return f"{low} or more arguments"
    return f"{low} to {high} arguments"
