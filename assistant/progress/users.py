"""Logins for a coach hosted for a class: a users file of names and argon2 password hashes.

Kept by `assistant users add NAME` / `list` / `remove NAME` in the data folder (users.json,
readable by its owner only). A laptop with no users file needs no login.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from assistant.errors import InvalidInputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise InvalidInputError("Logins need argon2-cffi; install it with: pip install -e '.[hosted]'") from None
    return PasswordHasher()


class UsersFile:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"The users file {self.path} is unreadable ({exc}); fix or remove it.") from None
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, users: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes only, still nobody else's business
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dict(sorted(users.items())), out, indent=1)
        os.replace(tmp, self.path)

    def names(self) -> list[str]:
        return sorted(self._read())

    def add(self, name: str, password: str) -> bool:
        """Add a user, or set the password of an existing one; returns True when the user is new."""
        if not _NAME.match(name or ""):
            raise InvalidInputError("A user name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit.")
        if len(password or "") < MIN_PASSWORD:
            raise InvalidInputError(f"The password must have at least {MIN_PASSWORD} characters.")
        users = self._read()
        new = name not in users
        users[name] = _hasher().hash(password)
        self._write(users)
        return new

    def remove(self, name: str) -> None:
        users = self._read()
        if name not in users:
            raise InvalidInputError(f"No user {name!r}; 'assistant users list' shows who there is.")
        del users[name]
        self._write(users)

    def verify(self, name: str, password: str) -> bool:
        """True only for a known user with the right password (never raises on bad input)."""
        stored = self._read().get(name or "")
        if stored is None:
            return False
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return _hasher().verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return False


def login_check(settings):
    """The app's logins: the users file's check (each user their own progress) if it has users, else
    the single ASSISTANT_USERNAME / ASSISTANT_PASSWORD pair, else None (no login)."""
    users = UsersFile(settings.users_file)
    if users.names():
        return users.verify
    return (settings.username, settings.password) if settings.username and settings.password else None
