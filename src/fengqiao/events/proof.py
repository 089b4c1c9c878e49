"""What the closing steps must prove (docs/workflow.md, "Proof before closing").

反馈 (`feedback`) names at least one photo of the handling, unless its class says otherwise, and
says what was done; 核查通过 (`verify` with `ok: true`) names an on-site photo the verifier took
recently near the event, and confirms. Pure: the photos' facts in, a `Reading` or a `Problem`
that names every condition that failed out; `events.steps` reads the rows and records the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fengqiao.config import Settings
from fengqiao.errors import FieldError, Problem
from fengqiao.geo.distance import haversine_m

# The kinds a handler's photos of the handling have had: `after` (处置后), and the older
# `evidence`, `near`, `far`. A step that takes them labels them `after`.
HANDLING_KINDS = ("after", "evidence", "near", "far")
# A verifier's photo: `verify` (核查), or one uploaded under a handling kind by an older client.
VERIFY_KINDS = ("verify", *HANDLING_KINDS)

# A photo's own clock may run a little ahead of the server's; beyond this its time is not
# believed (it would have been taken after it was uploaded) and the next source is used.
CLOCK_SKEW = timedelta(minutes=5)

# The words a user reads: no "EXIF" (a code to them), but what it is.
TIME_FROM_ZH = {
    "exif": "照片自带的拍摄时间",
    "device": "上传时手机定位的时间",
    "upload": "上传时间",
}
PLACE_FROM_ZH = {"exif": "照片自带的拍摄位置", "device": "上传时手机定位"}
TIME_FROM_EN = {"exif": "its EXIF", "device": "the phone's fix at upload", "upload": "its upload"}
PLACE_FROM_EN = {"exif": "its EXIF GPS", "device": "the phone's position at upload"}


@dataclass(frozen=True)
class ProofPolicy:
    """How fresh and how near a verification photo must be (settings `verify_photo_*`)."""

    max_age_minutes: float = 30.0
    max_distance_m: float = 200.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProofPolicy:
        return cls(
            max_age_minutes=settings.verify_photo_max_age_minutes,
            max_distance_m=settings.verify_photo_max_distance_m,
        )


@dataclass(frozen=True)
class PhotoFacts:
    """What the checks read of one stored photo."""

    id: int
    kind: str
    uploaded_by: int | None
    uploaded_at: datetime
    origin: str = "unknown"
    taken_at: datetime | None = None
    lat: float | None = None
    lng: float | None = None
    device_lat: float | None = None
    device_lng: float | None = None
    device_accuracy: float | None = None
    device_at: datetime | None = None


@dataclass(frozen=True)
class Reading:
    """One photo measured against the event: when and where it was taken, from which source,
    and the conditions it fails."""

    photo: PhotoFacts
    taken_at: datetime
    time_from: str  # exif | device | upload
    age_minutes: float
    place_from: str | None  # exif | device | None (no usable position)
    distance_m: float | None
    failures: tuple[FieldError, ...]

    def payload(self) -> dict[str, Any]:
        """The reading as the verify step's trail row records it."""
        return {
            "attachment_id": self.photo.id,
            "origin": self.photo.origin,
            "taken_at": self.taken_at.isoformat(),
            "time_from": self.time_from,
            "age_minutes": round(self.age_minutes, 1),
            "place_from": self.place_from,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
        }


def default_kind(status: str) -> str:
    """The kind of a photo uploaded without one, by the event's state: the report's photos
    until it is dispatched, the verifier's while it waits for verification, else the handling's."""
    if status in ("reported", "accepted"):
        return "report"
    if status == "handled":
        return "verify"
    return "after"


def check_feedback(*, result: str | None, kinds: Sequence[str], photo_required: bool) -> None:
    """Refuse a 反馈 without its result, or without a photo of the handling when its class
    requires one; the refusal names each missing field."""
    missing_result = FieldError(
        "result", "feedback needs the result: what was done", "请填写处置结果"
    )
    if photo_required and not any(kind in HANDLING_KINDS for kind in kinds):
        errors = [] if result else [missing_result]
        errors.append(
            FieldError(
                "attachment_ids",
                "feedback needs at least one photo of the handling (upload it with kind=after "
                "to /events/{id}/attachments first)",
                "请上传至少一张处置后照片",
            )
        )
        raise _refusal("evidence-required", "Evidence photo required", "须上传处置照片", errors)
    if not result:
        raise _refusal("invalid-input", "Invalid input", "输入有误", [missing_result])


def read_photo(
    photo: PhotoFacts, *, lat: float, lng: float, now: datetime, policy: ProofPolicy
) -> Reading:
    """When and where the photo was taken (EXIF when present and believable, else the phone's
    fix at upload, else the upload's time) and the conditions it fails."""
    limit = photo.uploaded_at + CLOCK_SKEW
    if photo.taken_at is not None and photo.taken_at <= limit:
        taken_at, time_from = photo.taken_at, "exif"
    elif photo.device_at is not None and photo.device_at <= limit:
        taken_at, time_from = photo.device_at, "device"
    else:
        taken_at, time_from = photo.uploaded_at, "upload"
    age = max((now - taken_at).total_seconds() / 60.0, 0.0)
    failures: list[FieldError] = []
    if age > policy.max_age_minutes:
        minutes = math.ceil(age)
        failures.append(
            FieldError(
                "taken_at",
                f"the photo was taken {minutes} minutes ago (time from {TIME_FROM_EN[time_from]}); "
                f"the limit is {policy.max_age_minutes:g} minutes",
                f"照片拍摄于 {minutes} 分钟前（依据{TIME_FROM_ZH[time_from]}），超过 "
                f"{policy.max_age_minutes:g} 分钟时限，请在现场重新拍摄",
            )
        )
    place_from, distance = _place(photo, lat=lat, lng=lng, policy=policy, failures=failures)
    return Reading(photo, taken_at, time_from, age, place_from, distance, tuple(failures))


def _place(
    photo: PhotoFacts, *, lat: float, lng: float, policy: ProofPolicy, failures: list[FieldError]
) -> tuple[str | None, float | None]:
    limit = f"{policy.max_distance_m:g}"
    if photo.lat is not None and photo.lng is not None:
        place_from, at = "exif", (photo.lat, photo.lng)
    elif photo.device_lat is not None and photo.device_lng is not None:
        accuracy = photo.device_accuracy
        if accuracy is not None and accuracy > policy.max_distance_m:
            failures.append(
                FieldError(
                    "photo_position",
                    f"the photo has no EXIF position and the phone's position at upload is only "
                    f"accurate to {math.ceil(accuracy)} m; the limit is {limit} m",
                    f"照片未自带拍摄位置，上传时手机定位精度仅 {math.ceil(accuracy)} 米，超过 "
                    f"{limit} 米限值，无法确认拍摄地点",
                )
            )
            return None, None
        place_from, at = "device", (photo.device_lat, photo.device_lng)
    else:
        failures.append(
            FieldError(
                "photo_position",
                "the photo has no position: no GPS in its EXIF and no phone position "
                "(device_lat, device_lng) with its upload",
                "照片没有位置信息：照片未自带拍摄位置，上传时也没有手机定位，请开启定位后在现场拍摄",
            )
        )
        return None, None
    distance = haversine_m(lat, lng, at[0], at[1])
    if distance > policy.max_distance_m:
        metres = math.ceil(distance)
        failures.append(
            FieldError(
                "photo_position",
                f"the photo was taken {metres} m from the event (place from "
                f"{PLACE_FROM_EN[place_from]}); the limit is {limit} m",
                f"拍摄地点距事件位置 {metres} 米（依据{PLACE_FROM_ZH[place_from]}），超过 "
                f"{limit} 米限值",
            )
        )
    return place_from, distance


def check_verify(
    *,
    photos: Sequence[PhotoFacts],
    confirmed: bool | None,
    lat: float,
    lng: float,
    now: datetime,
    policy: ProofPolicy,
) -> Reading:
    """The reading of the photo that proves a passing verification, or a refusal naming every
    condition that failed: no photo, too old, too far, no position, not confirmed."""
    readings = [read_photo(p, lat=lat, lng=lng, now=now, policy=policy) for p in photos]
    # The photo that fails least (the newest among equals) speaks for the verification.
    best = min(
        readings,
        key=lambda r: (len(r.failures), -r.photo.uploaded_at.timestamp(), -r.photo.id),
        default=None,
    )
    errors: list[FieldError] = []
    if best is None:
        errors.append(
            FieldError(
                "attachment_ids",
                "a passing verification needs an on-site photo you took after the feedback "
                "(upload it with kind=verify to /events/{id}/attachments first)",
                "请先在现场拍摄并上传核查照片",
            )
        )
    else:
        errors.extend(best.failures)
    if confirmed is not True:
        errors.append(
            FieldError(
                "confirmed",
                "a passing verification needs confirmed: true (you confirm on site that the "
                "problem is solved)",
                "请勾选确认：已到现场核实问题已解决",
            )
        )
    if errors:
        raise _refusal("verification-proof", "On-site proof incomplete", "核查条件不满足", errors)
    assert best is not None
    return best


def _refusal(slug: str, title: str, title_zh: str, errors: list[FieldError]) -> Problem:
    return Problem(
        422, slug, title, title_zh,
        "; ".join(f"{e.field}: {e.reason}" for e in errors),
        "；".join(e.reason_zh for e in errors),
        errors,
    )  # fmt: skip
