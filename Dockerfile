# One image for every process of Glassbox: `docker run IMAGE serve clients`, `... relay deals`, `... consume
# analytics`, `... work billing`, `... db upgrade all`. The entry point is the `glassbox` command.

# -- the web app: built with its own toolchain, only its static files go on ---------------------------------
FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# -- the Python environment: compilers live here only (for a dependency that ships no wheel) ---------------
FROM python:3.11-slim-bookworm AS python
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/glassbox
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
WORKDIR /app
COPY pyproject.toml README.md ./
RUN mkdir glassbox services gateway && touch glassbox/__init__.py services/__init__.py gateway/__init__.py \
    && /opt/glassbox/bin/pip install . && /opt/glassbox/bin/pip uninstall -y glassbox-crm
COPY glassbox/ glassbox/
COPY services/ services/
COPY gateway/ gateway/
COPY contracts/ contracts/
COPY deploy/demo/ deploy/demo/
# Editable: the code stays in /app beside contracts/ and deploy/demo/, which it reads from the project root.
RUN /opt/glassbox/bin/pip install --no-deps -e .

# -- what runs: the interpreter, the runtime libraries of WeasyPrint (printed forms), no build tools -----------
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
       fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/glassbox --create-home glassbox \
    && mkdir -p /var/lib/glassbox/keys && chown -R glassbox:glassbox /var/lib/glassbox
COPY --from=python /opt/glassbox /opt/glassbox
COPY --from=python /app /app
COPY --from=web /web/dist /app/web/dist
ENV PATH=/opt/glassbox/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GLASSBOX_VAR_DIR=/var/lib/glassbox \
    GLASSBOX_BIND_HOST=0.0.0.0 \
    GATEWAY_WEB_DIR=/app/web/dist
WORKDIR /app
USER glassbox
EXPOSE 8000 8001 8002 8003 8004 8005
ENTRYPOINT ["glassbox"]
CMD ["--help"]
