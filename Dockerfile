# syntax=docker/dockerfile:1
# The ssvm-operator image. Build context: the repository root (or `make image-context`).
#   docker build -t ssvm-operator:0.1.0 .
# The final stage has no compiler, no package manager run and no build tool; it runs as a numeric
# non-root user with a read-only root filesystem and writes only to /tmp (an emptyDir in the chart).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: the operator's wheel and the wheels of its dependencies, installed into a venv ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
COPY simulator ./simulator
RUN python -m pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /wheels ssvm-operator \
 && /opt/venv/bin/pip uninstall --yes pip setuptools wheel \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# ---- runtime ----
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ssvm-operator" \
      org.opencontainers.image.description="Keeps Apache CloudStack Secondary Storage VMs as declared in Git" \
      org.opencontainers.image.licenses="Apache-2.0"
# A passwd entry for the numeric user: Python's getpass (kopf's peering identity) looks it up.
RUN groupadd --system --gid 10001 ssvm \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin ssvm
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["ssvm-operator", "run"]
