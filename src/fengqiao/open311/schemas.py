"""The JSON shapes of GeoReport v2 (for the OpenAPI description; the XML twins have the same
fields) and of the operators' refusal counts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="True: services/{service_code} lists extra questions.")
    type: str = Field(description="Always realtime: a request is filed at once.")
    keywords: str = Field(description="Comma-separated: business modules and search words.")
    group: str = Field(description="The major class (大类).")


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    """One request; never the resident's name, e-mail, phone, device or account."""

    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str | None
    account_id: str | None = Field(
        None, description="Echoed only to the key that filed the request (X-Api-Key)."
    )
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None
    extended_attributes: dict[str, Any] | None = Field(
        None, description="With extensions=true: extended_status, timeline, merged_into."
    )


class PostedRequest(BaseModel):
    service_request_id: str = Field(description="Opaque; the request's id from now on.")
    token: str = Field(description="Also resolvable at tokens/{token}.")
    service_notice: str
    account_id: str | None
    address_id: str | None


class RequestUpdate(BaseModel):
    """One public step of a request (servicerequestupdates)."""

    update_id: str = Field(description="Opaque and stable across polls.")
    service_request_id: str
    status: str = Field(description="Extended status: OPEN, INVESTIGATING, FIXED, DUPLICATE, …")
    updated_datetime: str | None
    description: str = Field(description="The step's public words (Chinese).")
    media_url: str | None
    external_status_code: str = Field(description="The public step: accepted, rejected, merged, …")
    extended_attributes: dict[str, Any]


class TokenRequest(BaseModel):
    service_request_id: str
    token: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class SpecError(BaseModel):
    code: int
    description: str = Field(description="English / 中文")


class RefusalCount(BaseModel):
    reason: str
    count: int
    meaning: str


class RefusalDay(BaseModel):
    day: str
    reason: str
    count: int


class Open311Stats(BaseModel):
    since: str = Field(description="First local day counted (yyyy-mm-dd).")
    requests_filed: int
    refusals: list[RefusalCount]
    by_day: list[RefusalDay]
