"""The library's life cycle is tested on the editor tests' small library (see there why)."""

from tests.editor.conftest import (  # noqa: F401 (fixtures)
    services,
    settings,
    shipped,
    small_brain,
    small_library,
    versions,
)
