"""Page/size pagination shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel


class PageParams(BaseModel):
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_params(
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=500, description="Rows per page, at most 500.")] = 50,
) -> PageParams:
    return PageParams(page=page, size=size)


Paging = Annotated[PageParams, Depends(page_params)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count of matching rows."""

    items: list[T]
    total: int
    page: int
    size: int
