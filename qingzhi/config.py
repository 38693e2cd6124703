"""Settings from the environment (QZ_*) and command-line flags; flags win."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qingzhi.errors import QingzhiError

TOPIC_ROOT_PATTERN = r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$"
TOPIC_ROOT_MAX = 200  # MQTT caps a topic at 65,535 bytes; a longer root made the subscription fail unseen
# A scheme-less URL would make asyncpg fall back to its defaults (the local socket, a database named after the
# OS user) and, say, migrate a database nobody named; an empty one means unset (docker-compose passes `${X:-}`).
POSTGRES_URL_PATTERN = r"^postgres(ql)?://"
OWNTRACKS_PREFIX = "owntracks"  # the OwnTracks app's default base topic
CALLER_KEY_MIN = 16


class Settings(BaseSettings):
    """Everything configurable. Each field is env `QZ_<NAME>` and flag `--<name>`."""

    model_config = SettingsConfigDict(env_prefix="QZ_", frozen=True, extra="forbid")

    database_url: str | None = Field(None, pattern=POSTGRES_URL_PATTERN, description="PostgreSQL URL; unset in `demo` starts an embedded one")
    database_read_url: str | None = Field(None, pattern=POSTGRES_URL_PATTERN, description="dashboard: a streaming replica for the analysis and "
                                          "audit pages (the live map, dispatch and every action use database_url)")
    replica_max_lag_s: float = Field(30.0, gt=0, le=86400, description="`qingzhi status`: a replica further behind "
                                     "than this is reported as falling behind")
    mqtt_url: str | None = Field(None, description="mqtt://user:pass@host:port (mqtts:// for TLS)")
    source: str = Field("mqtt", pattern=r"^(mqtt|amqp)$", description="ingest: where messages come from: the MQTT "
                        "broker (mqtt_url) or a RabbitMQ cluster's quorum queues (amqp_url)")
    amqp_url: str | None = Field(None, description="ingest: comma-separated amqp://user:pass@host:port/ of the RabbitMQ "
                                 "nodes; the ingest connects to one and moves to the next when it dies")
    amqp_queues: int = Field(3, ge=1, le=256, description="quorum queues the units are hashed over (fixed once devices "
                             "publish: changing it moves units between queues)")
    amqp_prefer: str | None = Field(None, pattern=r"^\d+(,\d+)*$", description="ingest: queue numbers (from 0) this "
                                    "worker consumes first; it stands by on the others (default: all at once)")
    topic_root: str = Field("qz/v1", pattern=TOPIC_ROOT_PATTERN, max_length=TOPIC_ROOT_MAX,
                            description="MQTT topic root")
    mqtt_protocol: str = Field("5", pattern=r"^(5|3\.1\.1)$", description="MQTT protocol version: 5 or 3.1.1")
    client_id: str | None = Field(None, min_length=1, max_length=256,  # MQTT's CONNECT caps it at 65,535 bytes
                                  description="MQTT client id (persistent session name)")
    share_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_\-]+$", description="shared-subscription group")
    batch_size: int = Field(5000, ge=1, le=100_000, description="ingest: rows per commit at most")
    batch_ms: int = Field(200, ge=1, le=60_000, description="ingest: longest wait before a commit, ms")
    stats_interval_s: float = Field(10.0, ge=0.5, le=3600, description="ingest: seconds between its stats rows and "
                                    "log lines; `qingzhi status` flags a row older than 3 intervals as stale")
    db_connect_timeout_s: float = Field(5.0, gt=0, le=300, description="longest wait to connect to PostgreSQL")
    ingest_db_timeout_s: float = Field(20.0, gt=0, le=3600, description="ingest: longest wait for one database "
                                       "command (a 5,000-row batch takes well under 1 s); then the connection counts "
                                       "as lost: nothing acknowledged, reconnect, retry")
    dashboard_db_timeout_s: float = Field(10.0, gt=0, le=3600, description="dashboard: longest a request waits for "
                                          "the database before it answers with an error")
    health_timeout_s: float = Field(3.0, gt=0, le=60, description="`qingzhi status` and /health: a database silent "
                                    "this long is reported as not answering")
    retention_days: int = Field(90, ge=8, le=36_500, description="days of history kept; older day partitions are dropped")
    position_shards: str = Field("", pattern=r"^\s*([A-Za-z_][A-Za-z0-9_]*\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s*)*)?$",
                                 description="worker: comma-separated postgres_fdw servers each day of positions "
                                 "ahead is hash-partitioned over by unit, in this order (empty: every day local)")
    rejects_keep_days: int = Field(30, ge=1, le=36_500, description="days rejected messages are kept")
    rejects_keep_rows: int = Field(1_000_000, ge=1000, le=1_000_000_000, description="rejected messages kept at most (oldest pruned)")
    stale_after_s: int = Field(60, ge=1, le=604_800, description="a unit with no fix for this long is drawn stale")
    lost_after_s: int = Field(300, ge=2, le=604_800, description="a unit with no fix for this long is lost")
    timezone: str = Field("Asia/Shanghai", description="time zone for display and local-time analysis")
    language: str = Field("zh", pattern=r"^(zh|en)$", description="default interface language")
    tile_url: str = Field("https://tile.openstreetmap.org/{z}/{x}/{y}.png", description="map tile URL template")
    tile_attribution: str = Field("© OpenStreetMap contributors", description="map tile attribution")
    tile_crs: str = Field("wgs84", pattern=r"^(wgs84|gcj02|bd09)$", description="what the tiles are drawn in: wgs84 "
                          "(OpenStreetMap and most), gcj02 (AMap/Gaode, Tencent) or bd09 (Baidu); positions are "
                          "converted to it for drawing, the database stays WGS-84")
    tiles_mbtiles: Path | None = Field(None, description="a raster MBTiles file the dashboard serves at /tiles/… "
                                       "(closed networks: no tile server needed); the tile URL then points there")
    center: str = Field("30.2741,120.1551", description="city centre 'lat,lon' for the map and the simulator")
    study_area: Path | None = Field(None, description="GeoJSON boundary of the area policed, for the hotspot figures "
                                    "when no station has a jurisdiction (else the incidents' concave hull)")
    caller_key: str | None = Field(None, min_length=CALLER_KEY_MIN,
                                   description="secret key for hashing callers' phone numbers (required)")
    session_idle_min: int = Field(30, ge=1, le=24 * 60, description="web session ends after this long unused (wall: a week)")
    session_hours: int = Field(12, ge=1, le=24 * 30, description="web session ends this long after login at the latest")
    allowed_hosts: str = Field("localhost,127.0.0.1,::1", description="comma-separated host names the dashboard answers to")
    stream_hosts: str = Field("", description="comma-separated hosts camera streams may be played from (empty: any)")
    stream_schemes: str = Field("https,http", pattern=r"^\s*https?\s*(,\s*https?\s*)*$",
                                description="comma-separated schemes a camera stream may be played from (http, https)")
    stream_url_template: str = Field("", max_length=1000, description="a unit's stream when its camera sends none, "
                                     "e.g. http://gateway:8888/{station}/{unit}/index.m3u8 (empty: none)")
    camera_tiles: int = Field(4, ge=1, le=16, description="live camera views playing at once in one browser page")
    secure_cookies: bool = Field(False, description="mark cookies Secure even when a TLS proxy hides HTTPS")
    owntracks_prefix: str = Field(OWNTRACKS_PREFIX, pattern=TOPIC_ROOT_PATTERN, max_length=TOPIC_ROOT_MAX,
                                  description="OwnTracks topic prefix: phones publish to <prefix>/<station>/<unit>")
    mqtt_ca: str | None = Field(None, description="CA certificate (PEM) that signed the broker's; with mqtts://")
    mqtt_cert: str | None = Field(None, description="client certificate (PEM), for a broker that requires one")
    mqtt_key: str | None = Field(None, description="private key (PEM) of the client certificate")
    briefing_config: Path | None = Field(None, description="briefing configuration JSON: headline type mapping, ranking "
                                         "weights, station populations (unset: the shipped default)")
    briefing_dir: Path | None = Field(None, description="folder where the duty loop writes each morning's briefing "
                                      "(PDF and HTML of the day before); unset: no scheduled briefing")
    briefing_hour: int = Field(7, ge=0, le=23, description="local hour from which the duty loop writes the briefing "
                               "of the day before")
    briefing_keep_days: int = Field(90, ge=1, le=3650, description="days the scheduled briefing files are kept")
    response_plan: Path | None = Field(None, description="the response plan per alert level (TOML, like "
                                       "qingzhi/response_plan.toml, the default)")
    data_dir: str | None = Field(None, description="the folder that files named in settings (the road network) "
                                                   "must be in")

    @field_validator("position_shards")
    @classmethod
    def _distinct_shards(cls, v: str) -> str:
        names = _names(v)
        if len(set(names)) < len(names):
            raise ValueError("a server is named twice: each shard holds its own share of the units")
        return v

    @field_validator("stream_url_template")
    @classmethod
    def _stream_template(cls, v: str) -> str:
        from qingzhi.core.streams import check_template  # the rule lives in the core; imported late, no cycle

        return check_template(v)

    @field_validator("database_url", "database_read_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path such as ../../etc/passwd
            raise ValueError(f"{v!r} is not an IANA time zone like Asia/Shanghai") from None
        return v

    @field_validator("center")
    @classmethod
    def _center(cls, v: str) -> str:
        lat, lon = (float(x) for x in v.split(","))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("center must be 'lat,lon' in degrees")
        return v

    @model_validator(mode="after")
    def _mqtt_names(self) -> Settings:
        if self.mqtt_key and not self.mqtt_cert:
            raise ValueError("mqtt_key (QZ_MQTT_KEY) needs mqtt_cert (QZ_MQTT_CERT), the certificate it belongs to")
        root, ot = self.topic_root + "/", self.owntracks_prefix + "/"
        if root.startswith(ot) or ot.startswith(root):
            raise ValueError(f"owntracks_prefix {self.owntracks_prefix!r} and topic_root {self.topic_root!r} overlap: "
                             "the ingest could not tell their topics apart")
        return self

    @model_validator(mode="after")
    def _one_tile_source(self) -> Settings:
        if self.tiles_mbtiles is not None and "tile_url" in self.model_fields_set:
            raise ValueError("tile_url (QZ_TILE_URL) and tiles_mbtiles (QZ_TILES_MBTILES) are both set: the MBTiles "
                             "file's tiles are served at /tiles/…, so set only one of them")
        return self

    def shard_servers(self) -> list[str]:
        """The position shards' postgres_fdw server names, in order (empty: none)."""
        return _names(self.position_shards)

    @property
    def center_latlon(self) -> tuple[float, float]:
        """The city centre as (lat, lon)."""
        lat, lon = self.center.split(",")
        return float(lat), float(lon)


def _names(text: str) -> list[str]:
    """The names of a comma-separated setting, in order, spaces and empty items dropped."""
    return [s.strip() for s in text.split(",") if s.strip()]


def load_settings(**overrides: object) -> Settings:
    """Settings from env, with the non-None overrides (command-line flags) on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        if not name:  # a rule between settings: its message names them
            raise QingzhiError(f"bad settings: {err['msg'].removeprefix('Value error, ')}") from None
        raise QingzhiError(f"bad setting {name} (QZ_{name.upper()} / --{name.replace('_', '-')}): {err['msg']}") from None


def require_caller_key(settings: Settings) -> str:
    """The caller key; a one-line QingzhiError when it is not set (services refuse to start without it)."""
    if not settings.caller_key:
        raise QingzhiError(
            "no caller key: set QZ_CALLER_KEY to a random secret of at least "
            f"{CALLER_KEY_MIN} characters (e.g. `openssl rand -hex 32`); a published default would make the "
            "stored hashes of callers' numbers reversible"
        )
    return settings.caller_key


@dataclass(frozen=True)
class MqttTarget:
    """A parsed QZ_MQTT_URL."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @property
    def display(self) -> str:
        """The broker address without credentials, for messages."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """Parse mqtt://user:pass@host:port or mqtts://…; raise a clear error for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise QingzhiError(f"bad MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise QingzhiError(f"bad MQTT URL {url!r}: no host")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise QingzhiError(f"bad MQTT URL {url!r}: bad port") from None
    return MqttTarget(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
