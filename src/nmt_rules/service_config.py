"""How `nmt-rules serve` is configured: a TOML file, the environment and command-line options.

Authentication is off until configured: bearer tokens for the JSON API, allow-listed JWT
issuers for CDS Hooks. The file (``--config`` or ``NMT_RULES_CONFIG``) holds everything but
secrets; tokens come from ``NMT_RULES_API_TOKENS`` or are listed in the file as sha256 digests.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import jsonschema
import orjson

from ._attrs_schema import schema_for
from ._convert import converter
from ._schema_errors import problems
from .errors import FieldProblem, InputError

CONFIG_ENV: Final = "NMT_RULES_CONFIG"
TOKENS_ENV: Final = "NMT_RULES_API_TOKENS"
#: Environment variables that set one key of the file each (they win over the file).
ENV_KEYS: Final = {
    "NMT_RULES_PUBLIC_URL": "public_url",
    "NMT_RULES_CORS_ORIGINS": "cors_origins",
    "NMT_RULES_REPORT_KEY": "report_key",
}
#: How `serve` hands its resolved configuration to its worker processes.
RESOLVED_ENV: Final = "NMT_RULES_SERVICE_RESOLVED"
MiB: Final = 2**20


def _m(description: str, **schema: object) -> dict[str, object]:
    return {"description": description, **schema}


@attrs.frozen
class Issuer:
    """A CDS client (EHR) allowed to call the CDS services: its JWT issuer and key set."""

    iss: str = attrs.field(metadata=_m("The `iss` its JWTs carry.", minLength=1))
    jwks_url: str = attrs.field(
        metadata=_m("URL of its JWK Set; a JWT whose `jku` names another URL is refused.")
    )


@attrs.frozen
class ServiceConfig:
    """Everything `nmt-rules serve` needs beyond host, port and workers."""

    public_url: str | None = attrs.field(
        default=None,
        metadata=_m(
            "Base URL clients reach the service at (https://cds.example.org). Required with"
            " CDS issuers: JWT audiences are checked against it, and card links use it.",
            pattern="^https?://[^/]+(/.*[^/])?$",
        ),
    )
    api_tokens_sha256: tuple[str, ...] = attrs.field(
        default=(),
        metadata=_m(
            "sha256 (hex) of each bearer token the JSON API accepts.", pattern="^[0-9a-f]{64}$"
        ),
    )
    cds_issuers: tuple[Issuer, ...] = attrs.field(
        default=(), metadata=_m("CDS clients allowed to call the CDS services.")
    )
    cors_origins: tuple[str, ...] = attrs.field(
        default=(), metadata=_m("Browser origins allowed to call the service (CORS).")
    )
    max_body_bytes: int = attrs.field(
        default=MiB, metadata=_m("Largest request body accepted (413 above).", minimum=1)
    )
    max_header_bytes: int = attrs.field(
        default=64 * 1024,
        metadata=_m("Largest request line and headers accepted (431 above).", minimum=1024),
    )
    max_concurrent_plans: int = attrs.field(
        default=4, metadata=_m("Plans made at once per worker; others wait.", minimum=1)
    )
    max_connections: int = attrs.field(
        default=1000, metadata=_m("Connections per worker before 503.", minimum=1)
    )
    header_timeout_s: float = attrs.field(
        default=10.0, metadata=_m("Seconds a client has to send a request's head.", minimum=0.1)
    )
    body_timeout_s: float = attrs.field(
        default=30.0, metadata=_m("Seconds a client has to send a request's body.", minimum=0.1)
    )
    keep_alive_timeout_s: int = attrs.field(
        default=5, metadata=_m("Seconds an idle keep-alive connection is kept.", minimum=1)
    )
    shutdown_timeout_s: int = attrs.field(
        default=10,
        metadata=_m("Seconds requests in flight get after SIGTERM before exit.", minimum=1),
    )
    decision_log: str | None = attrs.field(
        default=None, metadata=_m("SQLite decision log to record every plan given in.")
    )
    log_identifiers: bool = attrs.field(
        default=False, metadata=_m("Record subject ids and whole brain maps in the log.")
    )
    rulesets: tuple[str, ...] = attrs.field(
        default=(), metadata=_m("Ruleset files to use instead of the core ruleset.")
    )
    report_key: str | None = attrs.field(
        default=None,
        metadata=_m(
            "Key (32 random bytes, urlsafe base64) sealing report links; share it between"
            " instances behind one proxy. Generated at start when absent."
        ),
    )
    report_ttl_s: int = attrs.field(
        default=24 * 3600, metadata=_m("Seconds a report link stays valid.", minimum=60)
    )

    @property
    def api_auth(self) -> bool:
        """Whether the JSON API requires a bearer token."""
        return bool(self.api_tokens_sha256)

    @property
    def cds_auth(self) -> bool:
        """Whether the CDS services require a JWT from an allow-listed issuer."""
        return bool(self.cds_issuers)

    def with_report_key(self) -> ServiceConfig:
        """This configuration with a report key, generated if it has none."""
        if self.report_key:
            return self
        return attrs.evolve(self, report_key=new_report_key())


def new_report_key() -> str:
    """A fresh key for sealing report links."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def token_digest(token: str) -> str:
    """What the file lists for a bearer token: its sha256 in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def config_schema() -> dict[str, Any]:
    """JSON Schema of the configuration file (TOML, same keys)."""
    return schema_for(ServiceConfig, "service-config", "nmt-rules serve configuration")


def load_service_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> ServiceConfig:
    """The configuration from the file (``path`` or $NMT_RULES_CONFIG), then the environment,
    then ``options`` (command-line values; None means not given)."""
    env = os.environ if environ is None else environ
    path = path or env.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    source = str(path) if path else "configuration"
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError([FieldProblem("", f"cannot read file: {exc}")], source) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError([FieldProblem("", f"invalid TOML: {exc}")], source) from None
    for variable, key in ENV_KEYS.items():
        if env.get(variable):
            value = env[variable]
            data[key] = (
                [v.strip() for v in value.split(",") if v.strip()]
                if key == "cors_origins"
                else value
            )
    tokens = [t.strip() for t in env.get(TOKENS_ENV, "").split(",") if t.strip()]
    if tokens:
        data["api_tokens_sha256"] = [*data.get("api_tokens_sha256", ()), *map(token_digest, tokens)]
    data.update({k: v for k, v in options.items() if v not in (None, ())})
    return parse_service_config(data, source)


def parse_service_config(data: Mapping[str, Any], source: str = "configuration") -> ServiceConfig:
    """Validate configuration data; InputError names each problem by key."""
    validator = jsonschema.Draft202012Validator(config_schema())
    found = problems(validator, data)
    if not found:
        config = converter.structure(data, ServiceConfig)
        if config.cds_auth and not config.public_url:
            found = [
                FieldProblem(
                    "public_url",
                    "required with cds_issuers: JWT audiences are checked against it",
                )
            ]
    if found:
        raise InputError(found, source)
    return config


def resolved_text(config: ServiceConfig) -> str:
    """The configuration as JSON, for worker processes (see :data:`RESOLVED_ENV`)."""
    return orjson.dumps(converter.unstructure(config)).decode()


def from_resolved_text(text: str) -> ServiceConfig:
    """The configuration `serve` handed to this worker."""
    return parse_service_config(orjson.loads(text), RESOLVED_ENV)
