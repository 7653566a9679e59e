FROM python:3.11-slim

ENV PORT=8000 \
    MODEL_DIR=/app/models/store \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 app
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

# The code stays root-owned (read-only to the service); only the model store is
# the service user's.
COPY . .
RUN mkdir -p "$MODEL_DIR" && chown app:app "$MODEL_DIR"
USER app

# Trained at build time, so every container of this image serves the same,
# already verified artifacts instead of training its own at start-up.
RUN python -m models.build

EXPOSE 8000
CMD ["gunicorn", "--config", "python:web.gunicorn_conf", "web.wsgi:app"]
