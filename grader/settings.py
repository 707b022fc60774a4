"""Settings, every value from the environment (see the README's configuration table).

DJANGO_ENV=production switches to safe defaults: DEBUG off, SECRET_KEY required,
HTTPS-only cookies and HSTS; `manage.py check --deploy` passes with no warnings.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

from grader.env import env_bool, env_choice, env_float, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GRADER_VAR_DIR", str(BASE_DIR / "var")))

ENVIRONMENT = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters in production")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when DJANGO_ENV=production")
    # Local use: generate once and keep it, so sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "courses",
    "grading.apps.GradingConfig",
    "feedback",
    "webhooks",
    "lti_tool",
    "lti",
    "api",
    "web",
]

MIDDLEWARE = [
    # First: it adjusts framing and cookies after every other middleware (see lti.middleware).
    "lti.middleware.LtiFramingMiddleware",
    # Next: /healthz, /readyz and /metrics answered before host checks and HTTPS redirects;
    # every other request gets its id and log context (grader/ops.py).
    "grader.ops.OpsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads request.POST (CSRF does): uploads keep the names they were sent with.
    "grading.uploads.UploadNamesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETags for every GET (a 304 for a matching If-None-Match): cheap conditional requests.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "grader.middleware.TimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "grader.urls"
WSGI_APPLICATION = "grader.wsgi.application"
ASGI_APPLICATION = "grader.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://grader:grader@127.0.0.1:5432/grader"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
# Django's PostgreSQL backend, counting queries and their errors for /metrics.
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- security (production profile) ---------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Sessions read from the cache (written through to the database, which stays the record): the
# live part's polls are answered without a database query (web/live.py). A logout deletes both;
# a cache that does not answer is a miss, so the site keeps working on the database (grader/sessions.py).
SESSION_ENGINE = "grader.sessions"
CSRF_COOKIE_HTTPONLY = False  # the live-status script reads no cookie; forms carry the token
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# --- e-mail (password resets) ---------------------------------------------------------------
# Development prints e-mails on the console; production sends them over SMTP. The tests use
# Django's in-memory outbox (pytest-django sets it).
EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}[env_choice("EMAIL_BACKEND", "smtp" if PRODUCTION else "console", ("smtp", "console", "locmem"))]
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on: STARTTLS (587) or SSL (465)"
    )
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "grader@localhost")
try:
    validate_email(DEFAULT_FROM_EMAIL.rpartition("<")[2].rstrip(">").strip())
except ValidationError:
    raise ImproperlyConfigured(
        f"DEFAULT_FROM_EMAIL must be an e-mail address, got {DEFAULT_FROM_EMAIL!r}"
    ) from None
SERVER_EMAIL = DEFAULT_FROM_EMAIL
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=60)

# --- LTI 1.3 tool (docs/lti.md) ---------------------------------------------------------
# How long a platform's JWKS is kept before it is fetched again.
LTI_JWKS_CACHE_SECONDS = env_int("LTI_JWKS_CACHE_SECONDS", 600, minimum=0)
# How long a used launch nonce is remembered (longer than any id token lives).
LTI_NONCE_SECONDS = env_int("LTI_NONCE_SECONDS", 86_400, minimum=600)
# SameSite=None; Secure cookies for sessions begun by a launch, so they work in the LMS's iframe.
LTI_FRAMED_COOKIES = env_bool("LTI_FRAMED_COOKIES", True)
# Calls to an LMS's services (grades, roster): how long one HTTP call may take, how many times a
# grade is retried (exponential backoff, up to 10 minutes apart) before it shows as failed, how
# long a grade may wait unsent before the periodic sweep sends it again (a lost message), and
# how often every linked course's roster is synced from its LMS.
LTI_SERVICE_TIMEOUT_SECONDS = env_float("LTI_SERVICE_TIMEOUT_SECONDS", 10.0, minimum=0.5, maximum=120)
LTI_PASSBACK_MAX_RETRIES = env_int("LTI_PASSBACK_MAX_RETRIES", 10, minimum=0, maximum=50)
LTI_PASSBACK_STALE_SECONDS = env_int("LTI_PASSBACK_STALE_SECONDS", 900, minimum=700)  # > the longest backoff
LTI_ROSTER_SYNC_SECONDS = env_int("LTI_ROSTER_SYNC_SECONDS", 21_600, minimum=60)

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Unless this is set, Celery's Django fix-up closes every database connection before and after
# each task: a new PostgreSQL backend (a fork and a SCRAM handshake) for every task. Workers keep
# theirs as the web tier does, for DATABASE_CONN_MAX_AGE and health-checked (grader.celery closes
# old or broken ones between tasks, as Django does between requests); this only bounds how many
# tasks one connection serves.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "grader.grade_submission": {"queue": "grading"},
    "grader.run_trial": {"queue": "grading"},
    "feedback.dispatch": {"queue": "feedback"},
    "webhooks.deliver": {"queue": "default"},
    "grader.sweep_stuck": {"queue": "default"},
    "lti.*": {"queue": "default"},
}
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-submissions": {"task": "grader.sweep_stuck", "schedule": float(SWEEP_INTERVAL_SECONDS)},
    "dispatch-feedback": {"task": "feedback.dispatch", "schedule": 10.0, "kwargs": {"budget_seconds": 8.0}},
    "lti-resend-stale-grades": {"task": "lti.resend_stale_grades", "schedule": float(SWEEP_INTERVAL_SECONDS)},
    "lti-sync-rosters": {"task": "lti.sync_rosters", "schedule": float(LTI_ROSTER_SYNC_SECONDS)},
}
# Publishing while the broker is down fails fast (the row stays queued for the sweeper)
# instead of holding the student's request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
    # Ten priority levels (0 first), one Redis list each: see grading.services.fair_priority.
    "queue_order_strategy": "priority",
    "priority_steps": list(range(10)),
    "sep": ":",
}
# A course's first FAIR_SHARE queued submissions go at priority 0, the next at 1, and so on:
# one course's burst sinks behind other courses' occasional submissions instead of starving them.
GRADING_FAIR_SHARE = env_int("GRADING_FAIR_SHARE", 4, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- sandbox -------------------------------------------------------------------------------
# Empty SANDBOX_IMAGE means: the tag sandbox.image computes from the current harness.
SANDBOX_IMAGE = env_str("SANDBOX_IMAGE", "")
SANDBOX_BASE_IMAGE = env_str("SANDBOX_BASE_IMAGE", "local")
# crun: the same containers as runc's for less CPU each; runsc: student code on gVisor's
# user-space kernel (scripts/setup.sh registers both; runc is on every Docker host).
SANDBOX_RUNTIME = env_choice("SANDBOX_RUNTIME", "runc", ("runc", "crun", "runsc"))
SANDBOX_DEFAULT_MEMORY_MB = env_int("SANDBOX_DEFAULT_MEMORY_MB", 256, minimum=32, maximum=8192)
SANDBOX_DEFAULT_CPUS = env_float("SANDBOX_DEFAULT_CPUS", 1.0, minimum=0.1, maximum=8)
SANDBOX_DEFAULT_PIDS = env_int("SANDBOX_DEFAULT_PIDS", 64, minimum=16, maximum=4096)
SANDBOX_DEFAULT_TEST_SECONDS = env_float("SANDBOX_DEFAULT_TEST_SECONDS", 10.0, minimum=0.1, maximum=600)
SANDBOX_DEFAULT_WALL_SECONDS = env_float("SANDBOX_DEFAULT_WALL_SECONDS", 60.0, minimum=1, maximum=1800)
# Started containers kept ready per worker process (each used once); 0 disables the pool.
SANDBOX_POOL_SIZE = env_int("SANDBOX_POOL_SIZE", 1, minimum=0, maximum=16)
SUBMISSION_MAX_BYTES = env_int("SUBMISSION_MAX_BYTES", 256 * 1024, minimum=1024, maximum=16 * 1024 * 1024)
SUBMISSION_MAX_FILES = env_int("SUBMISSION_MAX_FILES", 20, minimum=1, maximum=20)
GRADING_MAX_RETRIES = env_int("GRADING_MAX_RETRIES", 5, minimum=0, maximum=50)
# The sweeper: a running submission older than its wall limit + this grace lost its worker;
# a queued one older than this, with an empty grading queue, lost its message.
GRADING_RUNNING_GRACE_SECONDS = env_int("GRADING_RUNNING_GRACE_SECONDS", 120, minimum=0)
GRADING_QUEUED_STALE_SECONDS = env_int("GRADING_QUEUED_STALE_SECONDS", 120, minimum=0)

# --- webhooks ----------------------------------------------------------------------------
# Hosts, IPs or networks that webhooks may target although private or loopback (e.g. 127.0.0.1).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.5, maximum=120)

# --- LLM feedback (vLLM's OpenAI-compatible API) -------------------------------------------
LLM_BASE_URL = env_str("LLM_BASE_URL", "")
# Several vLLM replicas serving the same model (comma-separated /v1 URLs); empty: LLM_BASE_URL.
# Requests of one assignment go to the same replica (its prompt prefix stays cached there).
LLM_BASE_URLS = env_list("LLM_BASE_URLS", [])
# Send each request's priority (interactive 0 before regrades 10): needs vLLM's
# --scheduling-policy priority (without it vLLM refuses any non-zero priority).
LLM_PRIORITY = env_bool("LLM_PRIORITY", False)
LLM_MODEL = env_str("LLM_MODEL", "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ")
LLM_API_KEY = env_str("LLM_API_KEY", "EMPTY")
# The in-flight limit adapts between a floor and this ceiling (see feedback/control.py).
LLM_MAX_IN_FLIGHT = env_int("LLM_MAX_IN_FLIGHT", 16, minimum=1, maximum=1024)
LLM_MIN_IN_FLIGHT = env_int("LLM_MIN_IN_FLIGHT", 1, minimum=1, maximum=1024)
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 120.0, minimum=1)
LLM_MAX_TRIES = env_int("LLM_MAX_TRIES", 4, minimum=1, maximum=20)
# Room for a hint's answer (tokens); an answer cut there is asked again with the larger room.
LLM_ANSWER_TOKENS = env_int("LLM_ANSWER_TOKENS", 600, minimum=16, maximum=100_000)
LLM_MAX_ANSWER_TOKENS = env_int("LLM_MAX_ANSWER_TOKENS", 4096, minimum=16, maximum=100_000)
# The critic that ranks best-of-n candidates: another OpenAI-compatible server and model, or
# (empty) the hint server and LLM_MODEL.
LLM_CRITIC_BASE_URL = env_str("LLM_CRITIC_BASE_URL", "")
LLM_CRITIC_MODEL = env_str("LLM_CRITIC_MODEL", "")
# The model's context window in tokens; 0: as the server reports it (vLLM's max_model_len).
LLM_MAX_MODEL_LEN = env_int("LLM_MAX_MODEL_LEN", 0, minimum=0, maximum=10_000_000)
# A stream that sends no token for this long is abandoned (its slot freed, retried later).
LLM_STALL_SECONDS = env_float("LLM_STALL_SECONDS", 20.0, minimum=0.1, maximum=600.0)
# The breaker opens when this many of the last 2x this many model calls failed.
LLM_BREAKER_THRESHOLD = env_int("LLM_BREAKER_THRESHOLD", 10, minimum=1)
LLM_BREAKER_COOLDOWN_SECONDS = env_float("LLM_BREAKER_COOLDOWN_SECONDS", 30.0, minimum=0.1)
LLM_REDIS_URL = env_str("LLM_REDIS_URL", "")  # the shared limit's Redis; empty: the broker's
FEEDBACK_BATCH_SIZE = env_int("FEEDBACK_BATCH_SIZE", 32, minimum=1, maximum=1000)
FEEDBACK_LEASE_SECONDS = env_int("FEEDBACK_LEASE_SECONDS", 600, minimum=10)
# A sandbox check of a hint still unfinished after this is decided with the trials that ended.
FEEDBACK_CHECK_SECONDS = env_int("FEEDBACK_CHECK_SECONDS", 900, minimum=10)

# --- logs, metrics, health (README: "Operating it") ---------------------------------------
# json: one JSON object per line with the request, task, submission and course ids (observe.logs).
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "text", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "observe.logs.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "observe.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    # Django's own records through the same handler (its default one writes plain text).
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
# /metrics on the web: clients from these networks, or with "Authorization: Bearer METRICS_TOKEN".
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# A Celery worker host's /metrics, /healthz and /readyz (0: not served). Needs
# PROMETHEUS_MULTIPROC_DIR (a directory of this service alone) in the worker's environment.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1")
if WORKER_METRICS_PORT and not env_str("PROMETHEUS_MULTIPROC_DIR"):
    # Without it each pool process would count alone and the port would show only the parent's.
    raise ImproperlyConfigured(
        "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (a directory of this service)"
    )

# --- cache (throttling counters shared by every web process) -------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL", "redis://127.0.0.1:6379/2"),
    }
}

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("API_TOKEN_RATE", "600/min")},
    "EXCEPTION_HANDLER": "api.errors.handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "api.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "grader API",
    "DESCRIPTION": "REST API for LMS integrations. See docs/lms.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
