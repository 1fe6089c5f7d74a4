"""Open311 GeoReport v2 documents in their JSON form (the XML form has the same fields).

The routes render these from ``protocols.open311``; the models document them."""

from __future__ import annotations

from pydantic import Field

from renewmap.api.schemas.common import Out


class Endpoint(Out):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(Out):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(Out):
    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="whether it has attributes (see its definition)")
    type: str
    group: str


class AttributeValue(Out):
    key: str
    name: str


class Attribute(Out):
    variable: bool
    code: str
    datatype: str = Field(description="string, number, singlevaluelist or multivaluelist")
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(Out):
    service_code: str
    attributes: list[Attribute]


class ServiceRequestCreated(Out):
    service_request_id: str
    service_notice: str
    token: str | None


class ServiceRequest(Out):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


class TokenAnswer(Out):
    service_request_id: str
    token: str


class Open311Error(Out):
    code: int
    description: str
