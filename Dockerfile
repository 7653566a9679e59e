FROM python:3.11-slim

ENV PORT=8000 \
    WEB_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODEL_DIR=/app/var/models \
    MODEL_SEED_DIR=/app/models/seed

RUN useradd --create-home --uid 10001 app
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code stays root-owned (read-only to the service).
COPY . .

# The built-in models are trained into the image, where no database is reachable. The
# compose file's `release` service (python -m models.build) publishes them, checked against
# their manifests, into a registry that lacks them; every container then reads the registry.
RUN python -m models.build --seed-only \
    && mkdir -p /app/var && chown app:app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "--config", "python:web.gunicorn_conf", "web.wsgi:app"]
