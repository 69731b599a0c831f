"""Logins: the users file (argon2 hashes) and `assistant users`."""

import io
import os
import stat

import pytest

from assistant.cli import main
from assistant.errors import InvalidInputError
from assistant.progress.users import UsersFile


def test_add_verify_change_and_remove(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    assert users.add("ada", "correct horse") is True
    assert users.verify("ada", "correct horse") and not users.verify("ada", "wrong password")
    assert not users.verify("nobody", "correct horse") and not users.verify("", "")
    assert "correct horse" not in users.path.read_text() and stat.S_IMODE(os.stat(users.path).st_mode) == 0o600
    assert users.add("ada", "battery staple") is False and users.verify("ada", "battery staple")
    users.add("bob", "12345678")
    assert users.names() == ["ada", "bob"]
    users.remove("ada")
    assert users.names() == ["bob"] and not users.verify("ada", "battery staple")


@pytest.mark.parametrize("name, password, message", [
    ("", "long enough", "user name"), ("a b", "long enough", "user name"), ("ada", "short", "at least 8"),
])
def test_bad_names_and_short_passwords_are_refused(tmp_path, name, password, message):
    with pytest.raises(InvalidInputError, match=message):
        UsersFile(tmp_path / "users.json").add(name, password)


def test_a_damaged_users_file_is_one_clear_error(tmp_path):
    (tmp_path / "users.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="unreadable"):
        UsersFile(tmp_path / "users.json").names()


def test_the_users_command(tmp_path, capsys):
    out = io.StringIO()
    assert main(["users", "list"], stdout=out) == 0 and "No users yet" in out.getvalue()
    out = io.StringIO()
    assert main(["users", "add", "ada", "--password-stdin"], stdin=io.StringIO("correct horse\n"), stdout=out) == 0
    assert "Added ada" in out.getvalue()
    out = io.StringIO()
    assert main(["users", "list"], stdout=out) == 0 and out.getvalue().strip() == "ada"
    assert main(["users", "remove", "bob"]) == 2 and "No user 'bob'" in capsys.readouterr().err
    assert main(["users", "add"]) == 2 and "needs a user name" in capsys.readouterr().err
    assert main(["users", "remove", "ada"], stdout=io.StringIO()) == 0


def test_the_app_asks_for_a_login_when_there_are_users(tmp_path):
    from assistant.config import Settings
    from assistant.progress.users import login_check

    settings = Settings(data_dir=tmp_path, username="", password="")
    assert login_check(settings) is None
    assert login_check(Settings(data_dir=tmp_path, username="a", password="b")) == ("a", "b")
    UsersFile(tmp_path / "users.json").add("ada", "correct horse")
    check = login_check(Settings(data_dir=tmp_path, username="a", password="b"))
    assert check("ada", "correct horse") and not check("a", "b")
