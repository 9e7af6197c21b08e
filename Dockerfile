# syntax=docker/dockerfile:1.7
#
# passport-scorer-py: Falcon 4 WSGI app on gunicorn (gevent workers).
#
#   docker build -t passport-scorer-py:dev .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp --tmpfs /dev/shm \
#       -e DATABASE_URL=postgresql://... passport-scorer-py:dev
#
# The image is built to run with a read-only root filesystem, as a fixed
# non-root UID (10001, matching runAsUser in k8s/deployment.yaml). The only
# writable paths needed at run time are /tmp and /dev/shm (gunicorn's
# worker_tmp_dir). Both are emptyDir volumes in Kubernetes.

# ---------------------------------------------------------------------------
# Stage 1: builder. Build tools and pip live here only.
# ---------------------------------------------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONUNBUFFERED=1

# Every native dependency currently ships manylinux wheels. The one sdist
# (psycogreen) is pure Python. The compiler is here so that a dependency
# without a wheel for the target arch (e.g. a new release on arm64) still
# builds. It never reaches the final image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv

WORKDIR /src
# Every runtime dependency, pinned with its hashes (requirements.lock, renewed by `make lock`): the
# image holds exactly what was tested, and nothing is resolved at build time, so the pip that
# Python 3.11 bundles (23.x) installs it as well as a current one.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --require-hashes -r requirements.lock

# Then the project itself, without dependencies. pip byte-compiles the installed modules here, so
# the read-only runtime never needs to write .pyc. Packaging metadata: the globbed names are
# optional (COPY skips a wildcard that matches nothing, as long as something matches).
COPY setup.cfg pyproject.toml* setup.py* README.md* MANIFEST.in* LICENSE* ./
COPY app/ ./app/
COPY resources/ ./resources/
COPY db/ ./db/
COPY web/ ./web/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps . \
 && pip check

# ---------------------------------------------------------------------------
# Stage 2: runtime. Same base (so the venv's interpreter symlinks resolve),
# no compiler, no source tree, non-root.
# ---------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

LABEL org.opencontainers.image.title="passport-scorer-py" \
      org.opencontainers.image.description="Drop-in replacement for Gitcoin Passport's scorer endpoints (Falcon/gunicorn/gevent)" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

# HOME=/tmp: any library that wants ~/.cache or ~/.config writes to the
# writable /tmp emptyDir and not to the read-only root filesystem.
# PYTHONDONTWRITEBYTECODE: never try to write .pyc at run time (they were
# compiled in the builder).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    HOME=/tmp \
    TMPDIR=/tmp \
    PORT=8000

# Fixed numeric UID/GID, so Kubernetes can check runAsNonRoot against the image.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin app

# Owned by root and read-only for the app user: the process cannot modify its
# own code.
COPY --from=builder /opt/venv /opt/venv

# Only the gunicorn config goes in the working directory. The application is
# imported from the installed package in /opt/venv. Gunicorn puts the cwd on
# sys.path, so a source checkout here would shadow the installed package.
WORKDIR /app
COPY gunicorn.conf.py ./

USER 10001:10001

# 8000: the service (PORT). 9100: Prometheus metrics, served by the gunicorn
# master (METRICS_PORT); the Service never routes it.
EXPOSE 8000 9100

# Docker/compose health check only. Kubernetes ignores it and uses the probes
# in k8s/deployment.yaml. Uses only the stdlib, because the slim image has no
# curl. urlopen raises on connection errors and non-2xx, which exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]

# gunicorn handles SIGTERM as a graceful shutdown (graceful_timeout in
# gunicorn.conf.py).
STOPSIGNAL SIGTERM

# gunicorn -c gunicorn.conf.py web.wsgi:application, with every setting validated first (web/serve.py).
CMD ["python", "-m", "web.serve"]
