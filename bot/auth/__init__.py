"""Agents' and managers' accounts, passwords and web sessions."""

from bot.auth.users import (
    ROLES,
    FileUserStore,
    RedisUserStore,
    User,
    UserError,
    UserStore,
    make_user_store,
)

__all__ = ["ROLES", "FileUserStore", "RedisUserStore", "User", "UserError", "UserStore",
           "make_user_store"]
