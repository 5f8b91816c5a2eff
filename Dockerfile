# codarecon API (or, with `codarecon worker`, a background worker). PostgreSQL via CODARECON_DATABASE_URL.
# The base image is pinned to an exact tag; refreshing it is a deliberate change (README, "Installs").
FROM python:3.11.14-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never

WORKDIR /srv/codarecon
# Dependencies first, from the lock alone (hash-checked), so a code change rebuilds only the layers below.
# uv comes from the lock too, turns it into a hashed requirements list (refusing a lock that no longer matches
# pyproject.toml), and leaves: the image runs on pip's install of exactly the locked runtime packages.
COPY pyproject.toml uv.lock ./
COPY scripts/uv_requirement.py ./scripts/
RUN python scripts/uv_requirement.py uv.lock > /tmp/uv.txt \
 && pip install --require-hashes --no-deps -r /tmp/uv.txt \
 && uv export --quiet --locked --offline --no-emit-project --format requirements-txt --output-file /tmp/requirements.txt \
 && pip install --require-hashes --no-deps -r /tmp/requirements.txt \
 && pip uninstall --yes uv \
 && rm -rf /tmp/uv.txt /tmp/requirements.txt scripts
COPY README.md LICENSE ./
COPY app ./app
# Built with the locked setuptools (the lock's `build` group, installed above), not an isolated fresh download.
RUN pip install --no-deps --no-build-isolation . \
 && useradd --system --uid 10001 --home-dir /srv/codarecon --shell /usr/sbin/nologin codarecon \
 && mkdir -m 0700 var && chown codarecon:codarecon var

USER codarecon
# The embedded SQLite database and generated keys (admin token, CODARECON_SECRET_KEY) live here: mount it.
# On PostgreSQL set CODARECON_SECRET_KEY (the same for every API and worker container); start-up refuses without.
VOLUME ["/srv/codarecon/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Behind a reverse proxy set CODARECON_FORWARDED_ALLOW_IPS to its address; CODARECON_METRICS_PORT moves /metrics
# off the public port (README: Production).
# Migrations first (they take an advisory lock on PostgreSQL, so replicas may start together), then the API.
CMD ["sh", "-c", "codarecon migrate && exec codarecon serve --host 0.0.0.0 --port 8000"]
