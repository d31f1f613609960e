"""The script library (话术库): YAML data, its loader, validator and renderer.

Every Chinese sentence the bot sends comes from the YAML under ``scripts_zh/library``.
"""

from scripts_zh.loader import LibraryError, load_library
from scripts_zh.models import Intent, Library, Problem

__all__ = ["Intent", "Library", "LibraryError", "Problem", "load_library"]
