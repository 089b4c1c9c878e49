"""The password policy: long enough, and not among what a guesser tries first (zxcvbn's lists
of common passwords, names, words, keyboard walks and repeats, plus the account's own names)."""

from __future__ import annotations

from dataclasses import dataclass

from zxcvbn import zxcvbn

from fengqiao.errors import invalid

# zxcvbn reads only this much: its cost grows with the length, and a longer password that passed
# so far will not turn guessable in the rest.
_CHECKED_CHARS = 100


@dataclass(frozen=True)
class PasswordPolicy:
    """`min_score` is zxcvbn's 0-4 (3: "safely unguessable", about 10^8 guesses or more)."""

    min_length: int = 10
    min_score: int = 3

    def check(
        self, password: str, *, username: str = "", name: str = "", field: str = "password"
    ) -> None:
        """Refuse a password that is short, common or made of the account's names (422)."""
        if len(password) < self.min_length:
            raise invalid(
                field,
                f"at least {self.min_length} characters",
                f"密码至少需要 {self.min_length} 个字符",
            )
        if not password.strip():
            raise invalid(field, "only spaces", "密码不能全是空格")
        inputs = [part for part in (username, name) if part]
        # The parts of a username such as zhang_wei_2 are guessed as words of their own.
        inputs += [p for p in username.replace(".", "_").replace("-", "_").split("_") if len(p) > 2]
        lowered = password.lower()
        if any(part.lower() in lowered for part in (username, name) if len(part) >= 3):
            raise invalid(field, "contains the username or name", "密码不能包含用户名或姓名")
        result = zxcvbn(password[:_CHECKED_CHARS], user_inputs=inputs)
        if result["score"] < self.min_score:
            raise invalid(
                field,
                "too easy to guess (a common password, a word, a sequence or a name)",
                "密码太容易被猜到（常见密码、单词、连续字符或姓名），请换一个更长、更不规则的密码",
            )
