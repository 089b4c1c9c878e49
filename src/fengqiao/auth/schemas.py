"""Request and response shapes of the accounts API."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import PatchModel

# Every request field is bounded (tests walk the request models).
Code = Annotated[str, Field(min_length=1, max_length=32)]
Role = Annotated[str, Field(min_length=1, max_length=16)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class OrgRef(BaseModel):
    id: int
    code: str
    name: str
    kind: str


class UserOut(BaseModel):
    id: int
    username: str
    name: str
    phone: str | None = Field(description="Masked unless the caller's role needs it.")
    roles: list[str]
    home: OrgRef
    unit_id: int | None
    is_active: bool


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=64)
    password: str | None = Field(None, min_length=1, max_length=128)
    roles: list[Role] = Field(min_length=1, max_length=16)
    home_org_code: Code
    unit_code: Code | None = None
    grid_codes: list[Code] = Field([], max_length=200)
    phone: str | None = Field(None, max_length=32)


class UnitRef(BaseModel):
    id: int
    code: str
    name: str


class UserDetail(UserOut):
    """One user as the administration form edits them: with the grids served and the unit."""

    grids: list[OrgRef]
    unit: UnitRef | None


class UserEdit(PatchModel):
    """Fields an administrator may change; `grid_codes` replaces the grids served, a
    `password` sets a new one, `unit_code: null` clears the unit (any other null is refused)."""

    clearable: ClassVar[frozenset[str]] = frozenset({"unit_code", "phone"})

    name: str | None = Field(None, min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32)
    password: str | None = Field(None, min_length=1, max_length=128)
    roles: list[Role] | None = Field(None, min_length=1, max_length=16)
    home_org_code: Code | None = None
    unit_code: Code | None = None
    grid_codes: list[Code] | None = Field(None, max_length=200)
    is_active: bool | None = None


class PasswordChange(BaseModel):
    """A user's own new password, with the current one as proof."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class ApiKeyCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    key: str = Field(description="Shown once; only its hash is stored.")
    prefix: str
