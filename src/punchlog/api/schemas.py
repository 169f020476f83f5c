"""Wire schemas of the admin API (``XIn`` / ``XOut``), for validation and the OpenAPI docs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: str | None = Field(
        default=None, max_length=128, description="Generated (a GUID) when omitted."
    )
    name: str = Field(default="", max_length=200)
    location: str = Field(default="", max_length=200)
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA zone; overrides the tenant's."
    )
    direction: Literal["both", "in", "out"] = "both"


class DeviceOut(BaseModel):
    identifier: str
    name: str
    location: str
    timezone: str | None
    direction: str
    active: bool
    createdAt: datetime
    lastSeenAt: datetime | None


class EmployeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    joinedOn: date | None = None
    leftOn: date | None = None
    active: bool = True


class EmployeeOut(BaseModel):
    number: str
    name: str
    joinedOn: date | None
    leftOn: date | None
    active: bool


class UpsertOut(BaseModel):
    written: int
    attachedPunches: int


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["ingest", "read", "admin"] = "ingest"
    label: str = Field(default="", max_length=200)
    expiresAt: datetime | None = None


class KeyOut(BaseModel):
    id: str
    scope: str
    label: str
    createdAt: datetime
    expiresAt: datetime | None
    revokedAt: datetime | None
    lastUsedAt: datetime | None
    active: bool


class IssuedKeyOut(BaseModel):
    key: str = Field(description="Shown once; only its hash is stored.")
    id: str
    tenant: str
    scope: str
    label: str
    expiresAt: datetime | None


T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T
    succeeded: bool = True
