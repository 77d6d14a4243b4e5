# syntax=docker/dockerfile:1
# The scenario sidecar: computes what-if scenarios stored in the gateway.
# Build from the repository root:  docker build -f docker/scenarios.Dockerfile -t scenarios .
# The wheel is installed with its `scenarios` extra under docker/constraints.txt (the libraries
# the tests ran against). Configuration: mount a TOML file and pass --config, or use the
# environment (GATEWAY_URL, GATEWAY_TOKEN: a key with the read and ingest scopes).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.6.1
COPY pyproject.toml README.md schema.graphql ./
COPY gateway ./gateway
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
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10004 scenarios \
    && useradd --system --uid 10004 --gid scenarios --no-create-home --shell /usr/sbin/nologin scenarios
COPY --from=build /dist/ /tmp/dist/
COPY docker/constraints.txt /tmp/constraints.txt
RUN wheel="$(ls /tmp/dist/*.whl)" \
    && pip install --no-cache-dir --constraint /tmp/constraints.txt "${wheel}[scenarios]" \
    && rm -rf /tmp/dist /tmp/constraints.txt
WORKDIR /app
USER 10004:10004
# SIGTERM ends the loop between two units of work; every write is idempotent.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "scenarios", "run"]
