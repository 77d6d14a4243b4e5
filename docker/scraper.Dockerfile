# syntax=docker/dockerfile:1
# The SMARD scraper sidecar: build the project wheel, install only the wheel, run as non-root.
# Build from the repository root:  docker build -f docker/scraper.Dockerfile -t smard-scraper .
# The tag is pinned (a digest pin is better once the image registry is reachable from the
# build host). Configuration: mount a TOML file and pass --config, or use the environment
# (GATEWAY_URL, GATEWAY_TOKEN, SMARD_BASE_URL, SMARD_<SECTION>__<KEY>; docs/scraper.md).
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
RUN groupadd --system --gid 10002 scraper \
    && useradd --system --uid 10002 --gid scraper --no-create-home --shell /usr/sbin/nologin scraper
COPY --from=build /dist/ /tmp/dist/
# The libraries the tests ran against, as in the gateway image (scripts/constraints.py).
COPY docker/constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir --constraint /tmp/constraints.txt /tmp/dist/*.whl \
    && rm -rf /tmp/dist /tmp/constraints.txt
WORKDIR /app
USER 10002:10002
# The loop handles SIGTERM itself: the run in progress is cancelled (every chunk goes in one
# idempotent mutation, so nothing is half-written) and the process exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "scrapers.smard", "run"]
