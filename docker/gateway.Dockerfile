# syntax=docker/dockerfile:1
# The gateway image: build the dashboard (frontend/) with Node, build the wheel that carries it,
# install only the wheel in the last stage (docs/frontend.md, "Container").
# Build from the repository root:  docker build -f docker/gateway.Dockerfile -t energy-gateway .
# Python 3.11 is what CI tests; the tag is pinned (a digest pin is better once the image
# registry is reachable from where the image is built).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
# Node 20, as CI builds the frontend with.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS frontend
WORKDIR /src/frontend
# Dependencies first (cached while only sources change), exactly as the lock file says.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY schema.graphql /src/schema.graphql
COPY frontend ./
# Writes /src/gateway/static (vite.config.ts: outDir ../gateway/static).
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.6.1
COPY pyproject.toml README.md schema.graphql ./
COPY gateway ./gateway
COPY --from=frontend /src/gateway/static ./gateway/static
COPY resolvers ./resolvers
COPY db ./db
COPY scrapers ./scrapers
COPY jsonlogs ./jsonlogs
COPY sidecar ./sidecar
COPY forecasting ./forecasting
COPY scenarios ./scenarios
RUN python -m build --wheel --outdir /dist .

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_ENV=prod \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_WORKERS=1 \
    GATEWAY_DB_MAX_CONNECTIONS=16
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /dist/ /tmp/dist/
# The libraries the tests ran against (scripts/constraints.py writes the file).
COPY docker/constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir --constraint /tmp/constraints.txt /tmp/dist/*.whl \
    && rm -rf /tmp/dist /tmp/constraints.txt
WORKDIR /app
# Numeric id so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# Liveness only (no database): /readyz is for load balancers and Kubernetes readiness.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "gateway"]
CMD ["serve"]
