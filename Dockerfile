# codarecon API (or, with `codarecon worker`, a background worker). PostgreSQL via CODARECON_DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/codarecon
# Dependencies first, from pyproject.toml alone: a code change rebuilds only the layers below.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY README.md LICENSE ./
COPY app ./app
RUN pip install --no-deps . \
 && useradd --system --uid 10001 --home-dir /srv/codarecon --shell /usr/sbin/nologin codarecon \
 && mkdir -p var && chown codarecon:codarecon var

USER codarecon
# The embedded SQLite database and generated keys (admin token, CODARECON_SECRET_KEY) live here: mount it.
# On PostgreSQL set CODARECON_SECRET_KEY (the same for every API and worker container); start-up refuses without.
VOLUME ["/srv/codarecon/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Migrations first (they take an advisory lock on PostgreSQL, so replicas may start together), then the API.
CMD ["sh", "-c", "codarecon migrate && exec codarecon serve --host 0.0.0.0 --port 8000"]
