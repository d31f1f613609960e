"""No import cycle among the project's modules.

A cycle is a group of modules that import each other, directly or through others (a
strongly connected component of the import graph with more than one module). Cycles make
import order matter, hide which module owns what, and let a change anywhere in the group
reach everything in it; the layers between packages are checked by `lint-imports`, this
test checks every module, inside packages too.

The graph is grimp's (import-linter's library), built from the source, with two choices:

* imports inside functions count: an import moved into a function to dodge a cycle is
  still a dependency both ways;
* imports under ``if TYPE_CHECKING:`` do not (``exclude_type_checking_imports``): they
  never run, so a type named only for annotations (say, a callback's owner) can point back
  up without making import order matter. Prefer a Protocol all the same.

A package importing its own submodules (``__init__`` re-exports) is not a cycle: grimp
records the explicit import only, not the implicit "a submodule needs its package" edge.
"""

from __future__ import annotations

import grimp

PACKAGES = ("bot", "intents", "scripts_zh", "handoff", "config")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each group of modules that import each other, sorted; modules alone are left out."""
    seen: set[str] = set()
    cycles = []
    for module in sorted(graph.modules):
        if module in seen:
            continue
        # what the module imports (transitively) and what imports it: both ways round
        group = {module} | (graph.find_upstream_modules(module)
                            & graph.find_downstream_modules(module))
        seen |= group
        if len(group) > 1:
            cycles.append(sorted(group))
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """The cycle's modules and the imports between them, with line numbers."""
    inside = set(cycle)
    lines = [f"{len(cycle)} modules: {', '.join(cycle)}"]
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & inside):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer} -> {imported} "
                             f"(l.{detail['line_number']}: {detail['line_contents']})")
    return "\n".join(lines)


def test_the_project_has_no_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    assert len(graph.modules) > 50  # the packages were found, not an empty graph
    cycles = import_cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(describe(graph, c) for c in cycles)


def test_a_cycle_is_found_when_there_is_one() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert import_cycles(graph) == [["a.b", "a.c"]]
