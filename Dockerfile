# The release bridge as a container: `bridge run` as a non-root user, configured by BRIDGE_* variables
# (or a TOML file mounted and named by BRIDGE_CONFIG). See README.md, "Container".

# Stage 1: build the wheel from the source tree (the wheel carries the mappings, pages and migrations).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY connectors ./connectors
RUN pip wheel --no-deps --wheel-dir /dist .

# Stage 2: the runtime, with the wheel installed (not editable) and no source tree.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BRIDGE_SERVICE__HOST=0.0.0.0 \
    BRIDGE_SERVICE__PORT=8080 \
    BRIDGE_DATABASE__URL=sqlite:////app/var/bridge.db

COPY --from=build /dist/ /tmp/dist/
RUN pip install /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && useradd --system --uid 10001 --create-home --home-dir /home/bridge bridge \
    && mkdir -p /app/var && chown bridge /app/var

USER bridge
# /app holds only the store's folder (a volume in most deployments); the code is in site-packages.
WORKDIR /app
EXPOSE 8080
# /healthz answers while the process is up; /readyz (store and sources) suits a load balancer's check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('BRIDGE_SERVICE__PORT', '8080'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status != 200)"]
# Exec form: `bridge` is PID 1 and gets SIGTERM itself, so a stop drains (no new webhooks, claimed work
# finished) before the container exits.
ENTRYPOINT ["bridge"]
CMD ["run"]
