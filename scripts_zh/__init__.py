"""scripts_zh package."""
