# The Meeple server image: `docker build -t meeple .` then
# `docker run --rm -p 8000:8000 meeple` (one process, state in memory), or with
# -e REDIS_URL=redis://… for several processes acting as one. deploy/ has a compose
# stack with Redis, two servers and nginx terminating TLS.
#
# Builds with BuildKit and with the legacy builder alike (no RUN --mount, no # syntax
# line to fetch). `python3` rather than `python` throughout: both the official image
# and a Debian-based one (--build-arg PYTHON_IMAGE=…) have it.

ARG PYTHON_IMAGE=python:3.11-slim

# Builder: the project and every runtime dependency (no dev extras) installed into a
# virtualenv at /opt/meeple, the path it keeps in the final stage.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# .dockerignore keeps .venv, .git, caches, tests and test artifacts out of the context.
COPY . .
# A current pip builds sdist-only dependencies (python-chess) through PEP 517 in
# isolation; the pip the image ships may not. Everything here is pure Python or has
# manylinux wheels, so no compiler is needed even in this stage. pip and setuptools
# leave the virtualenv afterwards: nothing needs them at run time.
RUN python3 -m venv /opt/meeple \
    && /opt/meeple/bin/python -m pip install --upgrade pip \
    && /opt/meeple/bin/python -m pip install . \
    && /opt/meeple/bin/python -m pip uninstall --yes pip setuptools

# Final: the virtualenv alone (the same base image, so its python3 links still
# resolve); no source tree, wheels or pip cache in any layer.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/meeple/bin:$PATH
COPY --from=builder /opt/meeple /opt/meeple
RUN groupadd --system --gid 10001 meeple \
    && useradd --system --uid 10001 --gid meeple --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin meeple
# Nothing is written to disk: state is in memory, or in Redis with REDIS_URL.
WORKDIR /app
USER 10001:10001

EXPOSE 8000
# curl is not in the slim image; Python is. Any answer but 2xx (or none in 3 s) fails.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# `meeple serve` binds 127.0.0.1 unless told otherwise; in a container it must listen
# on every interface. uvicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS
# (default 127.0.0.1): set it to your proxy's address (deploy/docker-compose.yml does).
CMD ["meeple", "serve", "--host", "0.0.0.0", "--port", "8000"]
