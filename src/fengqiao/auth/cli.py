"""`fengqiao users …` and `fengqiao apikeys …`: user accounts and machines' API keys."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Annotated

import typer
from rich.table import Column, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.cli_support import console, load_settings, open_database, problems_exit
from fengqiao.config import Settings
from fengqiao.org.cli import system_principal

# (username, role, description) of the named demo accounts. The demo package that knows them
# sits above auth, so the top-level CLI passes its list in instead of auth importing it.
DemoAccounts = Callable[[], Sequence[tuple[str, str, str]]]

keys_app = typer.Typer(help="API keys for machines.", no_args_is_help=True)


def build_users_app(*, demo_accounts: DemoAccounts) -> typer.Typer:
    """The `users` commands, with `users list --demo` reading `demo_accounts`."""
    users_app = typer.Typer(help="User accounts.", no_args_is_help=True)

    @users_app.command("list")
    def users_list(
        demo: Annotated[bool, typer.Option("--demo", help="Only the named demo accounts.")] = False,
        role: Annotated[str | None, typer.Option(help="Only users with this role.")] = None,
        limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    ) -> None:
        """List users; `--demo` prints the demo logins and their password."""
        from fengqiao.auth.service import list_users

        settings = load_settings()
        with open_database().session() as session:
            principal = system_principal(session)
            if demo:
                _print_demo_accounts(session, settings, demo_accounts())
                return
            total, rows = list_users(db=session, principal=principal, role=role, limit=limit)
            table = Table("id", "username", "name", "roles", "home")
            for user, home in rows:
                table.add_row(
                    str(user.id),
                    user.username,
                    user.name,
                    ",".join(user.roles),
                    f"{home.code} {home.name}",
                )
            console.print(table)
            console.print(f"{len(rows)} of {total}")

    users_app.command("create")(users_create)
    users_app.command("passwd")(users_passwd)
    return users_app


def _print_demo_accounts(
    session: Session, settings: Settings, accounts: Sequence[tuple[str, str, str]]
) -> None:
    """The demo logins that exist here, and whether the configured demo password opens them."""
    from fengqiao.auth.models import User
    from fengqiao.auth.security import verify_password
    from fengqiao.org.models import OrgUnit

    # Usernames are typed into the login form: never shortened, the description folds.
    table = Table(
        Column("用户名 username", no_wrap=True, min_width=max(len(a[0]) for a in accounts)),
        Column("角色 role", no_wrap=True),
        Column("所在 home", overflow="fold"),
        Column("说明", overflow="fold"),
    )
    users = {
        u.username: (u, home)
        for u, home in session.execute(
            select(User, OrgUnit)
            .join(OrgUnit, OrgUnit.id == User.home_org_id)
            .where(User.username.in_([a[0] for a in accounts]))
        )
    }
    for username, account_role, description in accounts:
        if username in users:
            table.add_row(username, account_role, users[username][1].name, description)
    console.print(table)
    resident = users.get("demo_resident")
    if resident is not None and resident[0].phone:
        # Residents sign in by SMS code at /r/login (issue 19); the demo's SMS go to the log.
        console.print(
            f"随手拍 /r/：demo_resident 也可用手机号 [bold]{resident[0].phone}[/bold] 短信验证码登录"
            "（任何新手机号亦可注册）；演示环境不发真短信，验证码见 var/worker.log"
            "（grep 验证码 var/worker.log） / residents sign in at /r/login by SMS code; "
            "the demo writes the code to var/worker.log"
        )
    admin = users.get("admin")
    if admin is not None and verify_password(admin[0].password_hash, settings.demo_password):
        console.print(
            f"所有演示账号的密码 / password of every demo account: [bold]{settings.demo_password}[/bold]"
        )
    else:
        console.print(
            "演示账号的密码不是 FENGQIAO_DEMO_PASSWORD 的当前值 / the demo password differs from FENGQIAO_DEMO_PASSWORD (seeded with another value)"
        )


def users_create(
    username: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[list[str], typer.Option(help="Role (repeatable).")],
    home: Annotated[str, typer.Option(help="Code of the home org unit (the user's scope).")],
    unit: Annotated[str | None, typer.Option(help="Code of the user's responsible unit.")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="Grid code served (repeatable).")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
) -> None:
    """Add a user; the password is asked for (or read from FENGQIAO_NEW_PASSWORD)."""
    from fengqiao.auth.service import create_user

    password = _new_password()
    with problems_exit(), open_database().transaction() as session:
        user = create_user(
            db=session, username=username, name=name, password=password, roles=role,
            home_org_code=home, unit_code=unit, grid_codes=grid or [], phone=phone,
        )  # fmt: skip
        console.print(f"created user {user.username} (id {user.id})")


def users_passwd(username: str) -> None:
    """Set a user's password (asked for, or read from FENGQIAO_NEW_PASSWORD)."""
    from fengqiao.auth.service import set_password

    password = _new_password()
    with problems_exit(), open_database().transaction() as session:
        set_password(db=session, username=username, password=password)
    console.print(f"password of {username} changed")


def _new_password() -> str:
    """FENGQIAO_NEW_PASSWORD (for scripts), else asked for twice without echo."""
    return os.environ.get("FENGQIAO_NEW_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )


@keys_app.command("create")
def apikeys_create(
    username: str, name: Annotated[str, typer.Option(help="What the key is for.")] = "device"
) -> None:
    """Make an API key for USERNAME; the key is printed once and only its hash is kept."""
    from fengqiao.auth.service import create_api_key

    with problems_exit(), open_database().transaction() as session:
        made = create_api_key(db=session, username=username, name=name)
    console.print(made.key)


@keys_app.command("revoke")
def apikeys_revoke(prefix: str) -> None:
    """Revoke the API key with PREFIX (the part after `fqk_`)."""
    from fengqiao.auth.service import revoke_api_key

    with problems_exit(), open_database().transaction() as session:
        revoke_api_key(db=session, prefix=prefix)
    console.print(f"revoked {prefix}")
