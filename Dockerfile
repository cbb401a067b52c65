# The release bridge as a container: `bridge run` as a non-root user, configured by BRIDGE_* variables
# (or a TOML file mounted and named by BRIDGE_CONFIG).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BRIDGE_SERVICE__HOST=0.0.0.0 \
    BRIDGE_SERVICE__PORT=8080 \
    BRIDGE_MAPPINGS_DIR=/app/mappings

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY connectors ./connectors
COPY mappings ./mappings
COPY config ./config
RUN pip install . && useradd --system --create-home --home-dir /home/bridge bridge \
    && mkdir -p /app/var && chown bridge /app/var

USER bridge
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["bridge"]
CMD ["run"]
