"""One settings object for the whole service, read from `FENGQIAO_*` environment variables.

Every field here is documented in docs/configuration.md; tests/test_docs.py fails when one is not.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import SettingsConfigDict

from fengqiao.config_scale import ScaleSettings
from fengqiao.playback import check_origin, parse_template

IceUrl = Annotated[str, Field(max_length=256, pattern=r"^(stun|stuns|turn|turns):[^\s]{1,250}$")]


class IceServer(BaseModel):
    """One STUN or TURN server as RTCPeerConnection takes it (`FENGQIAO_CALL_ICE_SERVERS`)."""

    urls: IceUrl | Annotated[list[IceUrl], Field(min_length=1, max_length=8)]
    username: str | None = Field(None, max_length=256)
    credential: str | None = Field(None, max_length=256)


class Settings(ScaleSettings):
    """Fengqiao's configuration."""

    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/fengqiao.db",
        description="SQLAlchemy URL of the database (SQLite file or postgresql+psycopg://...).",
    )
    data_dir: Path = Field(Path("./var"), description="Folder for the SQLite file, keys, uploads.")
    secret_key: str = Field(
        "",
        description="Key that signs access tokens. Empty: a random key is made once and kept in "
        "<data_dir>/secret_key. Set it explicitly when several instances serve one database.",
    )
    token_minutes: int = Field(480, ge=1, description="Lifetime of an access token in minutes.")
    principal_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How often an instance checks whether accounts changed (roles, scope, unit, "
        "active flag, revoked API keys); callers are served from memory in between, and a "
        "disabled user is refused at most this long after. 0: read on every request.",
    )
    grid_index_check_seconds: float = Field(
        5.0,
        ge=0,
        description="How often an instance checks whether another instance changed the grids "
        "and its point-to-grid index must be rebuilt.",
    )
    household_cap_rural: int = Field(150, ge=1, description="Most households in a rural grid.")
    household_cap_urban: int = Field(300, ge=1, description="Most households in an urban grid.")
    demo_password: str = Field(
        "fengqiao-demo",
        description="Password of every demo account made by `fengqiao seed` (demo only).",
    )
    demo_login_hint: bool = Field(
        False,
        description="The login page says where the demo accounts are listed (`make demo` sets "
        "it; a district's own server never shows it).",
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long SQLite waits for a lock before it gives up."
    )
    upload_dir: Path | None = Field(
        None,
        description="Folder for event photos, stored by content hash. Empty: <data_dir>/photos.",
    )
    photo_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest photo accepted, in bytes (checked first)."
    )
    photo_max_pixels: int = Field(
        40_000_000,
        ge=1,
        description="Most pixels (width × height) a photo may have; refuses decompression bombs.",
    )
    photos_per_event: int = Field(9, ge=1, description="Most photos in one upload.")
    duplicate_radius_m: float = Field(
        100.0, ge=0, description="Open events of the same class this close are likely duplicates."
    )
    duplicate_days: float = Field(
        7.0, ge=0, description="... and reported within this many days before the new one."
    )
    rules_check_seconds: float = Field(
        5.0,
        ge=0,
        description="How often an instance checks whether classes, routing rules, SLA policies "
        "or the calendar changed and reloads them.",
    )
    export_max_rows: int = Field(
        200_000, ge=1, description="Most rows one CSV export of the event list returns."
    )
    log_level: str = Field("info", description="Log level of the service (debug, info, warning).")
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Where people open Fengqiao; links in messages start with it.",
    )
    basemap_url: str = Field(
        "",
        description="Tile URL template of the one-map's basemap, e.g. Tianditu WMTS "
        "`https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk=YOUR_KEY`. Used until an administrator sets the base map in 系统管理 · 底图, which then wins. Empty: the local vector base.",
    )
    basemap_attribution: str = Field(
        "", description="Attribution shown on the map for the basemap (e.g. 天地图)."
    )
    basemap_check_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="How often a process re-reads the base map set in 系统管理 · 底图 for the "
        "Content-Security-Policy's img-src (the process that saves it follows at once), and how "
        "long it keeps an area's local base GeoJSON.",
    )
    patrol_interval_seconds: int = Field(
        30,
        ge=5,
        le=600,
        description="How often the grid worker's app records a position on patrol.",
    )
    patrol_batch_points: int = Field(
        20,
        ge=1,
        le=500,
        description="Positions the app collects before it sends them in one batch "
        "(sent sooner when the patrol stops).",
    )
    alarm_category: str = Field(
        "0201",
        description="Class code of the urgent event a grid worker's one-click alarm raises "
        "(default 0201 治安隐患).",
    )
    onduty_minutes: int = Field(
        30,
        ge=1,
        description="A grid worker counts as on duty on the map for this long after "
        "their last position.",
    )
    worker_poll_seconds: float = Field(
        5.0, gt=0, description="How long the worker sleeps between rounds of its jobs."
    )
    worker_batch: int = Field(
        500, ge=1, description="Most rows one job handles per transaction before it commits."
    )
    supervision_reply_hours: float = Field(
        24.0, gt=0, description="Time a unit has to reply to an automatic overdue order."
    )
    escalation_overdue_hours: list[float] = Field(
        [24.0, 72.0, 168.0],
        description="Hours overdue after which an event climbs to rung 1, 2 and 3 of the "
        "escalation ladder by itself (JSON list, e.g. [24, 72, 168]).",
    )
    escalation_returns: int = Field(
        2, ge=1, description="Returns by units after which an event is escalated one rung."
    )
    # The tree above the district (issue 21): districts whose ladder climbs on to their city.
    escalation_city_districts: list[str] = Field([], description="District codes (JSON list).")
    escalation_city_hours: float = Field(336.0, gt=0, description="Hours overdue to the city.")
    outbox_max_attempts: int = Field(
        6, ge=1, description="Attempts to send one message before it is dead-lettered."
    )
    outbox_backoff_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before the first retry of a failed message; doubles with each attempt.",
    )
    deliver_via: dict[str, str] = Field(
        {"sms": "log", "email": "log", "app": "app", "log": "log"},
        description="Which channel plugin delivers each kind of message (JSON). The default logs "
        'SMS and email instead of sending them; production sets {"sms": "sms", "email": '
        '"email", "app": "app", "log": "log"}.',
    )
    sms_gateway_url: str = Field(
        "", description="URL the `sms` plugin POSTs each message to (JSON body)."
    )
    sms_gateway_auth_header: str = Field(
        "",
        description='Header sent to the SMS gateway, as "Name: value" '
        '(e.g. "Authorization: Bearer ...").',
    )
    sms_template_ids: dict[str, str] = Field(
        {},
        description="The gateway's template id for each message template (JSON), e.g. "
        '{"reminder": "SMS_1001"}; without one the template name is sent.',
    )
    sms_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of one gateway request.")
    smtp_host: str = Field("", description="SMTP server the `email` plugin sends through.")
    smtp_port: int = Field(25, ge=1, description="Its port.")
    smtp_username: str = Field("", description="SMTP login (empty: none).")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_from: str = Field("fengqiao@localhost", description="Sender address of emails.")
    assessment_weights: dict[str, float] = Field(
        {"volume": 10, "closure": 30, "on_time": 30, "rework": 30},
        description="Weights of the composite assessment score (考核): volume, closure rate, "
        "on-time closure rate and 1 - rework rate; any non-negative numbers, used as shares "
        "of their sum.",
    )
    assessment_trend_months: int = Field(
        12, ge=1, le=60, description="Months the assessment trend shows by default."
    )
    bulletin_hour: int = Field(
        7, ge=0, le=23,
        description="Local hour (Asia/Shanghai) from which the worker makes yesterday's bulletin.",
    )  # fmt: skip
    bulletin_catch_up_days: int = Field(
        7, ge=1, description="Missed bulletins a late worker still makes, newest first."
    )
    bulletin_font: Path = Field(
        Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
        description="TrueType font (.ttf/.ttc) with Chinese glyphs embedded in bulletin PDFs "
        "(Debian: fonts-wqy-microhei).",
    )
    bulletin_channels: list[str] = Field(
        ["app", "email"], description="Channels a new bulletin subscription uses by default."
    )
    bulletin_list_max: int = Field(
        50, ge=1, description="Most rows of the bulletin's red list and supervision list."
    )
    warning_spike_p: float = Field(
        1e-6, gt=0, lt=1,
        description="Spike warning when P(X >= observed | Poisson(expected)) is below this.",
    )  # fmt: skip
    warning_spike_min: int = Field(
        5, ge=1, description="A spike needs at least this many events in its window."
    )
    warning_spike_weeks: int = Field(
        8, ge=1, description="Weeks of the same weekday and hours that make a spike's baseline."
    )
    warning_stability_classes: list[str] = Field(
        ["03", "0103"],
        description="Stability classes: a two-digit code is a major class (03 信访维稳), "
        "four digits a minor one (0103 劳资纠纷).",
    )
    warning_cluster_min: int = Field(
        3, ge=2, description="Stability events in one village that make a cluster."
    )
    warning_cluster_days: float = Field(7.0, gt=0, description="Span of a stability cluster.")
    warning_repeat_min: int = Field(
        3, ge=2, description="Events of one class at one place that make a repeat."
    )
    warning_repeat_radius_m: float = Field(50.0, gt=0, description="What one place means.")
    warning_repeat_days: float = Field(30.0, gt=0, description="Span of a repeat.")
    warning_backlog_overdue: int = Field(
        5, ge=1, description="A unit holding this many open overdue events has a backlog."
    )
    warning_interval_minutes: float = Field(
        60.0, ge=0, description="The warnings job runs again once this long has passed."
    )
    warning_catch_up_days: float = Field(
        14.0, gt=0, description="How far back a late warnings run looks for what it missed."
    )
    proxy_collect_days: int = Field(
        2,
        ge=1,
        le=30,
        description="Working days a grid worker has to collect a resident's materials and hand "
        "them in, added to the service item's legal time limit to make a proxy request's "
        "(代办) deadline.",
    )
    mqtt_enabled: bool = Field(
        True, description="The worker subscribes to device alarms on the MQTT broker."
    )
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description="The broker: mqtt://[user:password@]host[:port] (mqtts:// for TLS).",
    )
    mqtt_client_id: str = Field(
        "fengqiao-worker",
        description="The worker's fixed MQTT client id: the broker keeps its persistent session "
        "(subscription and unacknowledged QoS 1 alarms) under it while the worker is away.",
    )
    mqtt_topic_prefix: str = Field(
        "fengqiao/devices",
        description="Devices publish to {prefix}/{device code}/alarm and .../recovery.",
    )
    mqtt_reconnect_max_seconds: float = Field(
        30.0, gt=0, description="Longest wait between reconnection attempts to the broker."
    )
    iot_batch: int = Field(
        500, ge=1, description="Most alarms the subscriber folds in one transaction."
    )
    iot_payload_max_bytes: int = Field(
        4096, ge=64, description="Largest alarm payload accepted (MQTT and HTTP), in bytes."
    )
    iot_flood_per_second: float = Field(
        20.0,
        gt=0,
        description="Alarms a second one device may send on average; more are quarantined "
        "as `flood` (per worker or app process).",
    )
    iot_flood_burst: float = Field(
        200.0, ge=1, description="Alarms one device may send at once before the rate applies."
    )
    iot_trail_every: int = Field(
        100,
        ge=1,
        description="A folded alarm writes a trail row on the event for the first repeat and "
        "then every this many alarms (the counter counts them all).",
    )
    iot_reporter: str = Field(
        "iot_gateway",
        description="Device-role account that files the events of a device registered "
        "without its own `reporter`.",
    )
    iot_keep_days: float = Field(
        30.0, gt=0, description="Days the inbox of accepted alarms and the quarantine are kept."
    )

    open311_hidden_majors: list[str] = Field(
        ["02", "03"],
        description="Classes the public Open311 surface never offers or shows (JSON list): two "
        "digits name a major class (02 社会治安, 03 信访维稳), four a minor one (0203).",
    )
    open311_jurisdiction_id: str = Field(
        "",
        max_length=64,
        description="The Open311 `jurisdiction_id` this district answers to; when set, a request "
        "naming another one is refused (400). Empty: any or none is accepted.",
    )
    open311_cors_origins: list[str] = Field(
        [],
        description='Browser origins (JSON list, e.g. ["https://portal.example.cn"]) allowed '
        "to call /open311/v2/ from their pages (CORS). Empty: no CORS headers.",
    )

    camera_divisions: list[str] = Field(
        ["330603"],
        description="Administrative division codes (GB/T 2260, 6 digits) a camera's GB/T 28181 "
        'id must start with to be imported (JSON list, e.g. ["330603"]); [] accepts any.',
    )
    camera_index_check_seconds: float = Field(
        5.0,
        ge=0,
        description="How often an instance checks whether another instance changed the camera "
        "registry and its nearest-camera index must be rebuilt.",
    )

    # The operator's view (docs/operations.md): logs, metrics.
    log_format: str = Field(
        "json",
        pattern="^(json|console)$",
        description="How `fengqiao serve` and `fengqiao worker` write log lines: json (one "
        "object a line, for collectors) or console (readable, for development).",
    )
    metrics_token: str = Field(
        "",
        description="Bearer token that may read /metrics from anywhere. Empty: /metrics answers "
        "only direct (not proxied) requests from the loopback address.",
    )
    metrics_dir: Path | None = Field(
        None,
        description="Folder the processes (uvicorn workers, fengqiao worker) share their "
        "metrics through (PROMETHEUS_MULTIPROC_DIR). Empty: <data_dir>/metrics.",
    )
    # Read caches of the command room and the event list (issue 15, item 7).
    read_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description="How long an instance serves a cached answer of the event list, the "
        "command room's situation, event layer and grid counts while no event changed. A "
        "filing or a step shows in the next read; time alone (a light turning red) within "
        "this. 0: nothing cached.",
    )
    read_cache_mb: int = Field(
        64, ge=1, le=4096, description="Memory an instance spends on cached answers, in MB."
    )

    # Messages sent once under faults; several workers sharing the MQTT intake (issue 15, item 9).
    outbox_lease_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Wall-clock lease on a message being sent, renewed every third of it while "
        "the gateway answers; a dead worker's message is sent again (same idempotency key) "
        "once its lease ends.",
    )
    outbox_parallel: int = Field(
        1,
        ge=1,
        le=64,
        description="Messages one worker sends at once. After a kill -9 at most this many per "
        "worker reach the gateway twice; raise it for a slow gateway.",
    )
    mqtt_holder_check_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="On PostgreSQL one worker holds the MQTT intake (an advisory lock); the "
        "others try to take it over this often, and the holder checks it still holds it.",
    )

    # --- logins, rate limits and sessions (issue 15, item 5; docs/security.md) ---
    redis_url: str = Field(
        "",
        description="Redis for the rate-limit counts, e.g. redis://127.0.0.1:6379/0, so that "
        "several instances share them. Empty: each instance counts in its own memory.",
    )
    rate_limit_enabled: bool = Field(True, description="Apply the rate limits below.")
    rate_limit_key_prefix: str = Field(
        "fengqiao", max_length=64, description="Prefix of the rate-limit keys in Redis."
    )
    rate_limit_login: str = Field(
        "30/minute;300/hour",
        description="Login attempts per client address (API token, login form, own password "
        "change), in the `limits` notation: `N/second|minute|hour|day`, `;` between several.",
    )
    rate_limit_public: str = Field(
        "300/minute",
        description="Reads per client address of the public catalogue (page and API), the "
        "public map (page and API) and Open311's GET routes.",
    )
    rate_limit_open311_post: str = Field(
        "30/minute;300/hour", description="Open311 requests filed per client address."
    )
    rate_limit_lookup: str = Field(
        "20/minute;200/hour",
        description="Report codes looked up without login (the TV set-top box) per client "
        "address: codes are not secret, so this keeps anyone from walking through them.",
    )
    rate_limit_iot: str = Field(
        "1200/minute",
        description="IoT webhook alarms per client address (a gateway may speak for many devices).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of the reverse proxies in front of "
        "the app (e.g. 127.0.0.1, 10.0.0.0/8); only from these is X-Forwarded-For believed.",
    )
    login_lockout_failures: int = Field(
        10, ge=1, description="Wrong passwords for one account before it is locked."
    )
    login_lockout_address_failures: int = Field(
        50, ge=1, description="Wrong passwords from one client address before it is locked."
    )
    login_lockout_seconds: int = Field(
        900,
        ge=1,
        description="How long a lock lasts; failures older than this are forgotten.",
    )
    password_hash_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        description="Password hashes or checks (argon2, 64 MiB each) running at once per "
        "process; more logins wait their turn.",
    )
    password_hash_wait_seconds: float = Field(
        10.0,
        gt=0,
        description="How long a login waits for a hashing slot before it is refused (503).",
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest password accepted.")
    password_min_score: int = Field(
        3,
        ge=0,
        le=4,
        description="Lowest zxcvbn strength (0-4) of a new password; 3 refuses common "
        "passwords, words, sequences and the account's own names.",
    )

    # Bounded input (issue 15): the largest request body of each route class, refused with 413
    # before any parser reads it. Photo uploads allow photo_max_bytes × photos_per_event plus
    # 1 MiB; the IoT webhook 4 × iot_payload_max_bytes (so an oversized alarm is quarantined).
    json_max_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest body of a JSON API request, in bytes."
    )
    form_max_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest body of a form post (login, Open311, any form without photos), "
        "in bytes.",
    )
    import_max_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="Largest body of an import or bulk push (org tree GeoJSON, camera CSV, "
        "camera statuses, service catalogue), in bytes.",
    )

    # --- issue 17, H1 handovers ---
    outbox_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often the worker's sender looks for messages to send, in a lane of its "
        "own beside the round of the other jobs: a message a step queues reaches the inbox "
        "within about this long, however long the round takes.",
    )
    # (end of H1 handovers)

    # --- issue 17, H2 proof ---
    verify_photo_max_age_minutes: float = Field(
        30.0,
        gt=0,
        le=24 * 60,
        description="A passing verification (核查通过) needs an on-site photo taken at most this "
        "many minutes before the step (time from the photo's EXIF, else the phone's position "
        "fix at upload).",
    )
    verify_photo_max_distance_m: float = Field(
        200.0,
        gt=0,
        le=50_000,
        description="... taken at most this many metres from the event (place from the photo's "
        "EXIF GPS, else the phone's position at upload, if at least this accurate).",
    )
    # (end of H2 proof)

    # --- issue 17, H3 alarms ---
    alarm_climb_minutes: float = Field(
        5.0,
        gt=0,
        le=1440,
        description="Minutes an alarm (an urgent event or an IoT alarm) may wait for 接警 before "
        "the worker's alarms job climbs it to the district command room.",
    )
    # (end of H3 alarms)

    # --- issue 18, video calls ---
    call_ice_servers: list[IceServer] = Field(
        default_factory=list,
        max_length=8,
        description="STUN/TURN servers the browsers use for video calls, as JSON: "
        '`[{"urls": "stun:stun.example.gov.cn:3478"}]`, with `username` and `credential` for '
        "a TURN server with fixed credentials. Empty (the default): none, enough on one network.",
    )
    call_turn_urls: str = Field(
        "",
        max_length=1000,
        description="Comma-separated TURN URLs of a coturn running `use-auth-secret`, e.g. "
        "`turn:turn.example.gov.cn:3478?transport=udp,turns:turn.example.gov.cn:5349`; each "
        "browser gets time-limited credentials signed with `FENGQIAO_CALL_TURN_SECRET`.",
    )
    call_turn_secret: str = Field(
        "", max_length=256, description="coturn's `static-auth-secret` for the TURN credentials."
    )
    call_turn_ttl_seconds: int = Field(
        3600, ge=60, le=86_400, description="How long a TURN credential handed out stays valid."
    )
    call_ring_seconds: float = Field(
        45.0,
        gt=0,
        le=600,
        description="Seconds a call rings on the phone before it ends as not answered.",
    )
    # (end of issue 18, video calls)

    # --- issue 17, H4 event center ---
    event_batch_max: int = Field(
        100,
        ge=1,
        le=500,
        description="Most events one batch step of the event center (受理 or 交办 of the "
        "selected rows, POST /api/v1/events/batch) takes; each event is its own transaction.",
    )
    # (end of H4 event center)

    # --- issue 17, H5 bulletin ---
    bulletin_number_prefix: str = Field(
        "{short}综指通",
        min_length=1,
        max_length=40,
        description="Prefix of an issued bulletin's document number (文号), before 〔year〕N号; "
        "{short} stands for the issuing area's short name (柯 for 柯桥区, 安昌 for 安昌街道), "
        "so the district's 37th bulletin of 2026 is 柯综指通〔2026〕37号.",
    )
    analytics_min_base: int = Field(
        5,
        ge=1,
        le=100_000,
        description="Smallest base a 同比/环比 is computed against (events, or the denominator "
        "of a rate); a smaller or empty base period says 无可比数据 instead of a percentage.",
    )
    # (end of H5 bulletin)

    # --- issue 17, H6 numbers and warnings ---
    assessment_zero_patrol_grade_cap: str = Field(
        "C",
        pattern=r"^[A-E]?$",
        description="The best assessment grade (考核等级) a row whose patrol coverage is 0 % may "
        "have: a grid worker who patrolled none of their grids cannot rank A (empty: no cap).",
    )
    warning_remind_days: float = Field(
        1.0,
        gt=0,
        le=30,
        description="An early warning not acknowledged (签收) this many days after it was "
        "raised is sent again, as a reminder, to the people it went to.",
    )
    warning_climb_days: float = Field(
        3.0,
        gt=0,
        le=60,
        description="... and this many days after it was raised it climbs to the district: "
        "the district's operators and leaders are told.",
    )
    # (end of H6 numbers and warnings)

    # --- issue 17, H7 language and phone ---
    # (end of H7 language and phone)

    # --- issue 17, H8 map ---
    # (end of H8 map)

    # --- issue 18, video ---
    video_playback_template: str = Field(
        "",
        description="Where a browser plays a camera, from the media gateway: an HLS playlist "
        "URL such as `https://gw.example/live/{gb_id}/index.m3u8`, or a WebRTC WHEP endpoint "
        "written with a `whep+` prefix, such as `whep+https://gw.example/{gb_id}/whep`. "
        "Placeholders: `{gb_id}` (20-digit GB/T 28181 id), `{division}` (its first 6 digits), "
        "`{id}` (Fengqiao's number of the camera). Empty: only cameras whose own stream URL is "
        "an HLS playlist play. A bad template stops the service at startup. See docs/video.md.",
    )
    video_extra_origins: str = Field(
        "",
        description="Comma-separated origins (`https://host:port`) besides the template's that "
        "cameras' own HLS stream URLs come from; the page's security policy allows them.",
    )

    @field_validator("video_playback_template")
    @classmethod
    def _playback_template(cls, value: str) -> str:
        parse_template(value)  # raises with the reason in English and Chinese
        return value.strip()

    @field_validator("video_extra_origins")
    @classmethod
    def _extra_origins(cls, value: str) -> str:
        return ",".join(check_origin(part) for part in value.split(",") if part.strip())

    def video_origins(self) -> list[str]:
        """The origins cameras play from: the template's, then the extra ones."""
        template = parse_template(self.video_playback_template)
        origins = [template.origin] if template is not None else []
        extra = [o for o in self.video_extra_origins.split(",") if o]
        return list(dict.fromkeys([*origins, *extra]))

    # (end of issue 18, video)

    # --- residents' SMS sign-in (issue 19, item 1; docs/residents.md) ---
    sms_code_minutes: int = Field(
        5, ge=1, le=60, description="Minutes a one-time SMS sign-in code stays valid."
    )
    sms_code_failures: int = Field(
        5, ge=1, description="Wrong codes for one phone number before it is locked."
    )
    sms_code_lock_seconds: int = Field(
        900, ge=1, description="How long a phone number stays locked after too many wrong codes."
    )
    rate_limit_sms_phone: str = Field(
        "1/minute;5/hour;10/day",
        description="SMS sign-in codes sent per phone number (the `limits` notation).",
    )
    rate_limit_sms_address: str = Field(
        "10/minute;60/hour",
        description="SMS sign-in codes requested per client address (the `limits` notation).",
    )

    def photo_dir(self) -> Path:
        """Where photos are stored."""
        return self.upload_dir if self.upload_dir is not None else self.data_dir / "photos"

    def resolved_secret_key(self) -> str:
        """The signing key: the configured one, or one made once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache when they change env vars)."""
    return Settings()
