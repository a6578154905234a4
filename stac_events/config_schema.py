"""The shape of the `stac` CLI's conf.yaml, as far as stac-events reads it.

Only loaded when a config file is found: building these models costs start-up time.
"""

from __future__ import annotations

from typing import Annotated, Any, Dict, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

_LENIENT = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


# Secrets and addresses are text as written: YAML reads `api_key: 0123456` as the number
# 42798, and making text of that again would send another key.
Text = Annotated[str, Field(strict=True)]


class BasicAuth(BaseModel):
    model_config = _LENIENT

    username: Text
    password: Text


class ReceiverApi(BaseModel):
    model_config = _LENIENT

    url: Optional[Text] = None
    basic_auth: Optional[BasicAuth] = None
    headers: Optional[Dict[str, Text]] = None  # stac-events' own: extra request headers


class ClientConfig(BaseModel):
    model_config = _LENIENT

    api_key: Optional[Text] = None
    hostname: Optional[str] = None
    internal_hostname: Optional[str] = None


class InstanceConfig(BaseModel):
    model_config = _LENIENT

    receiver_api: ReceiverApi = Field(default_factory=ReceiverApi)
    clients: Dict[str, ClientConfig] = Field(default_factory=dict)
    ci_context: Optional[bool] = None  # stac-events' own: add CI context to every event

    @field_validator("receiver_api", "clients", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return {} if value is None else value


class StacConfig(BaseModel):
    model_config = _LENIENT

    instances: Dict[str, InstanceConfig] = Field(default_factory=dict)

    @field_validator("instances", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return {} if value is None else value
