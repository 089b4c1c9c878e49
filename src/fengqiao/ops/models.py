"""The personal-data access log: who was served phones or ID numbers unmasked (DESIGN §13)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class PersonalDataAccess(Base):
    """One request that served personal data whole, per subject table.

    `subject_ids` is ",3,17,42,": every row of the table the response carried unmasked, so a list
    page costs one row here, and "who saw row 17" is `subject_ids LIKE '%,17,%'`.
    """

    __tablename__ = "personal_data_access"
    __table_args__ = (
        Index("ix_personal_data_access_at", "at"),
        Index("ix_personal_data_access_user", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No foreign key: the log outlives accounts and is written even for machine principals.
    user_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(200))
    subject_table: Mapped[str] = mapped_column(String(32))
    subject_ids: Mapped[str] = mapped_column(Text)
    subject_count: Mapped[int] = mapped_column(Integer)
    fields: Mapped[str] = mapped_column(String(200))
