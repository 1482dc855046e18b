# syntax=docker/dockerfile:1
# haul's one image: every role runs from it, one role per container.
#
#   docker build -t haul .                  (from the repository root: the build needs all of it)
#   docker run haul jobstore|gateway|worker|migrate|wait-for-migrations    (the entry point's roles)
#   docker compose exec gateway haul ls                                    (haul's CLIs are installed too)
#
# Stages: `web` builds the browser UI with Node; `build` installs haul (not editable) into a
# virtualenv; the runtime is python:3.11-slim with Debian's ffmpeg and aria2, the virtualenv,
# the built UI and the migrations, running as an unprivileged user (uid 10001).
# deploy/README.md has compose and Kubernetes.

ARG NODE_IMAGE=node:20-slim
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${NODE_IMAGE} AS web
WORKDIR /src/gateway/web
# The lock file alone decides the dependencies, so this layer survives edits to the UI's sources.
COPY gateway/web/package.json gateway/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY gateway/web/ ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/haul
WORKDIR /src
COPY pyproject.toml README.md ./
COPY haul/ haul/
COPY jobstore/ jobstore/
COPY gateway/ gateway/
COPY worker/ worker/
COPY haulctl/ haulctl/
# A cache mount keeps downloaded wheels between builds and out of the image.
# pip itself is not needed to run haul: it leaves the virtualenv once haul is in.
RUN --mount=type=cache,target=/root/.cache/pip /opt/haul/bin/pip install . \
    && /opt/haul/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE} AS runtime
# Debian's security updates replace package versions; a pinned version would soon stop installing.
# No documentation, manual pages or translations: dpkg skips them (the copyright files stay).
# hadolint ignore=DL3008
RUN printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
        'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
        'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/lintian/*' \
        > /etc/dpkg/dpkg.cfg.d/haul-slim \
    && apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg aria2 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
        /usr/share/man/* /usr/share/info/* /usr/share/locale/* \
    && find /usr/share/doc -type f ! -name copyright -delete
# A numeric uid, so Kubernetes' runAsNonRoot can verify it. /var/lib/haul is the data volume's
# mount point: owned by haul, so a fresh named volume takes that ownership on first use.
RUN groupadd --system --gid 10001 haul \
    && useradd --system --uid 10001 --gid haul --home-dir /app --no-create-home --shell /usr/sbin/nologin haul \
    && install -d -o haul -g haul -m 0750 /var/lib/haul /var/lib/haul/data /var/lib/haul/tmp
COPY --from=build /opt/haul /opt/haul
WORKDIR /app
COPY alembic.ini ./
COPY migrations/ migrations/
COPY --from=web /src/gateway/web/dist/ gateway/web/dist/
COPY --chmod=0755 deploy/entrypoint.py /usr/local/bin/haul-entrypoint
COPY --chmod=0755 deploy/healthcheck.py /usr/local/bin/haul-healthcheck
# Production mode: every service refuses to start without real secrets. The services listen on
# all interfaces, which the gateway allows only with HAUL_API_TOKEN set.
ENV PATH=/opt/haul/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HAUL_MODE=production \
    HAUL_LOG_FORMAT=json \
    HAUL_HOST=0.0.0.0 \
    HAUL_PORT=8080 \
    HAUL_JOBSTORE_LISTEN=0.0.0.0:50051 \
    HAUL_WEB_DIR=/app/gateway/web/dist \
    HAUL_DATA_DIR=/var/lib/haul/data \
    HAUL_TMP_DIR=/var/lib/haul/tmp \
    HAUL_ALEMBIC_CONFIG=/app/alembic.ini
USER 10001:10001
EXPOSE 8080 50051
# Role-aware: the check reads the role from PID 1 (gateway: GET /health/live; jobstore: gRPC
# health; worker: its pool still has workers; a one-shot migration: nothing to check).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["haul-healthcheck"]
ENTRYPOINT ["haul-entrypoint"]
CMD ["gateway"]
