"""CityLoop settings. Every production difference comes from environment variables (see docs/configuration.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str, persistent_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("CITYLOOP_DATA_DIR", str(BASE_DIR / "var")))
# Reference data shipped with CityLoop (standard categories, real district boundaries); see data/README.md.
REFERENCE_DATA_DIR = Path(env_str("CITYLOOP_REFERENCE_DATA_DIR", str(BASE_DIR / "data")))

SECRET_KEY = persistent_secret_key(DATA_DIR / "secret_key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Transport security (#19): each setting from the environment; on by default once HTTPS is declared
# (CITYLOOP_HTTPS=1, TLS ending at nginx, which sends X-Forwarded-Proto) and DEBUG is off.
CITYLOOP_HTTPS = env_bool("CITYLOOP_HTTPS", False)
_SECURE = CITYLOOP_HTTPS and not DEBUG
if CITYLOOP_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _SECURE)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _SECURE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _SECURE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _SECURE)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _SECURE)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "cityloop.core",
    "cityloop.geo",
    "cityloop.catalog",
    "cityloop.accounts",
    "cityloop.assets",
    "cityloop.notifications",
    "cityloop.cases",
    "cityloop.evaluation",
    "cityloop.workplans",
    "cityloop.api",
    "cityloop.portal",
    "cityloop.demo",
    "cityloop.web",
    "cityloop.worker",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django_filters",
    "axes",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions and authentication, so that loading them is routed too (no-op without a replica).
    "cityloop.core.db_router.PrimaryPinMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the lockout page
]

# Login lockout (#19): django-axes. After CITYLOOP_LOGIN_FAILURE_LIMIT wrong passwords for one account, or
# from one address, that account or address is locked for CITYLOOP_LOGIN_COOLOFF_MINUTES; logged in the admin.
AUTHENTICATION_BACKENDS = ["cityloop.accounts.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
CITYLOOP_LOGIN_FAILURE_LIMIT = env_int("CITYLOOP_LOGIN_FAILURE_LIMIT", 5)
CITYLOOP_LOGIN_COOLOFF_MINUTES = env_int("CITYLOOP_LOGIN_COOLOFF_MINUTES", 15)
AXES_FAILURE_LIMIT = CITYLOOP_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=CITYLOOP_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: the account, and the address
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "cityloop.accounts.backends.client_ip"
AXES_LOCKOUT_CALLABLE = "cityloop.accounts.backends.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure kept (admin: Axes → Access failures), not only counts

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: SQLite in DATA_DIR by default (WAL mode), PostgreSQL or any dj-database-url URL from DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'cityloop.sqlite3'}")
# PostgreSQL only: a connection pool per web process (Django's native psycopg pool) instead of one connection
# per request or persistent ones (DB_CONN_MAX_AGE); the two exclude each other.
DB_POOL = env_bool("DB_POOL", False)
if DB_POOL and env_int("DB_CONN_MAX_AGE", 0):
    raise ValueError("DB_POOL=1 and DB_CONN_MAX_AGE exclude each other: the pool keeps connections open itself")


def _database(url: str, *, test_options: dict[str, Any] | None = None) -> dict[str, Any]:
    database: dict[str, Any] = dict(dj_database_url.parse(
        url, conn_max_age=0 if DB_POOL else env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=DB_POOL,
        # PgBouncer in transaction mode cannot keep the server-side cursors of QuerySet.iterator() (Excel export).
        disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False), test_options=test_options,
    ))
    if database["ENGINE"] == "django.db.backends.sqlite3":
        if DB_POOL:
            raise ValueError("DB_POOL=1 needs PostgreSQL (DATABASE_URL=postgres://…)")
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        database["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    elif DB_POOL:
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 2),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10),
            "timeout": env_int("DB_POOL_TIMEOUT", 10),
        }
    return database


DATABASES = {"default": _database(DATABASE_URL)}
# A streaming replica (PostgreSQL hot standby): the desk pages, lists, the map and reports read from it; writes,
# transactions and anything a client reads right after its own write go to the primary (cityloop/core/db_router.py).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    # Tests never create a second database: the alias mirrors the test database.
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL, test_options={"MIRROR": "default"})
# Seconds a client reads from the primary after it wrote (more than the replay lag seen at peak).
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10)
DATABASE_ROUTERS = ["cityloop.core.db_router.PrimaryReplicaRouter"]

# The work-plan import preview posts several fields per task (a large plan has well over 1,000).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Password rules (#19): at least 10 characters, not a common password, not the user's name, not the city's name.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("CITYLOOP_PASSWORD_MIN_LENGTH", 10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "cityloop.accounts.validators.CityNameValidator"},
]

# Chinese first; English through Django i18n (?lang / the language switch in the header).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
# Third-party front-end code comes from npm (package-lock.json) and is served from node_modules, never copied.
NODE_MODULES = BASE_DIR / "node_modules"
_VENDOR = {
    "vendor/leaflet": NODE_MODULES / "leaflet" / "dist",
    "vendor/htmx": NODE_MODULES / "htmx.org" / "dist",
    "vendor/echarts": NODE_MODULES / "echarts" / "dist",
    "vendor/markercluster": NODE_MODULES / "leaflet.markercluster" / "dist",
}
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
STATICFILES_DIRS += [(prefix, path) for prefix, path in _VENDOR.items() if path.exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (app.3f2a1c.js) after `cityloop collectstatic`, cached for ever by browsers: an upgrade never
    # leaves users on old JavaScript. With DEBUG on, the plain names are served (no collectstatic needed).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
# Photo uploads: size cap in bytes (originals keep their EXIF and are never served; see cases/photos.py).
CITYLOOP_MAX_PHOTO_BYTES = env_int("CITYLOOP_MAX_PHOTO_BYTES", 10 * 1024 * 1024)
# Duplicate detection: an open case of the same subclass this close, reported this recently.
CITYLOOP_DUPLICATE_DISTANCE_M = env_int("CITYLOOP_DUPLICATE_DISTANCE_M", 50)
CITYLOOP_DUPLICATE_DAYS = env_int("CITYLOOP_DUPLICATE_DAYS", 7)
# Citizen portal: per-client limits (attempts, window in seconds) for each kind of POST.
CITYLOOP_RATE_LIMITS = {"report": (10, 3600), "track": (30, 3600), "rate": (10, 3600)}
# Proxies whose X-Forwarded-For is believed (IP addresses or networks), e.g. the nginx in front.
CITYLOOP_TRUSTED_PROXIES = env_list("CITYLOOP_TRUSTED_PROXIES", [])
# The most photos one portal form field accepts.
CITYLOOP_PORTAL_MAX_PHOTOS = env_int("CITYLOOP_PORTAL_MAX_PHOTOS", 9)

# Upload limits (#19): ONE limit on a request body for every channel (pages, /public/, /m/, /api/v1,
# /open311/v2), photos and fields together; default nine photos at the photo cap plus 1 MiB of form (91 MiB).
# A body declared larger is refused with 413 before anything reads it, and a multipart body is cut off at
# the limit while it streams (cityloop/core/uploads.py). Keep nginx's client_max_body_size at or above it.
CITYLOOP_MAX_UPLOAD_BYTES = env_int("CITYLOOP_MAX_UPLOAD_BYTES", 9 * CITYLOOP_MAX_PHOTO_BYTES + 1024 * 1024)
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware"),
                  "cityloop.core.uploads.UploadLimitMiddleware")  # before the CSRF check reads the form
FILE_UPLOAD_HANDLERS = [
    "cityloop.core.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Evaluation: counts taken for the present serve the next reports for this many seconds (0 = always count).
# Reports arriving at once on a worker's threads share one transaction (cases.services.reporting.REPORT_GROUP).
CITYLOOP_REPORT_GROUP_COMMIT = env_bool("CITYLOOP_REPORT_GROUP_COMMIT", True)
CITYLOOP_EVALUATION_CACHE_SECONDS = env_int("CITYLOOP_EVALUATION_CACHE_SECONDS", 300)

# Cache: Redis when REDIS_URL is set (shared by every web process: rate limits, map layers), else per process.
REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "cityloop"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- CityLoop domain settings -------------------------------------------------------------
# Daily working periods used by the working calendar when the admin has not entered any.
CITYLOOP_WORKING_PERIODS = [("08:30", "12:00"), ("13:30", "17:30")]
# The city whose demo is loaded and whose bounding area checks coordinates.
CITYLOOP_CITY_CODE = env_str("CITYLOOP_CITY_CODE", "370100")
CITYLOOP_CITY_NAME = env_str("CITYLOOP_CITY_NAME", "济南市")
# A tile layer for the maps (e.g. a city's own tile server); empty means vector layers only.
TILE_URL = env_str("TILE_URL", "")
