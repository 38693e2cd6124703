# One image for every qingzhi service (ingest, dashboard, simulator, migrate); the command picks.
FROM python:3.11-slim

# CJK fonts: the dashboard's generated documents (and any headless rendering) need them.
# Pango for WeasyPrint (the briefing PDF); Chromium for kaleido (the briefing's chart images).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 chromium \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY qingzhi ./qingzhi
COPY ingest ./ingest
COPY dashboard ./dashboard
COPY layouts ./layouts
COPY assets ./assets
# Into /app/.venv, as `qingzhi.sh` does in a checkout. Editable: the dashboard finds layouts/ and assets/
# beside the package, as in a checkout.
RUN python -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -e .
ENV PATH=/app/.venv/bin:$PATH

RUN useradd --system --uid 10001 qingzhi
USER qingzhi
ENTRYPOINT ["qingzhi"]
