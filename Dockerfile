# ERP Core application image (web, worker and beat run from it with different commands).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/venv PATH=/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends \
        libmagic1 postgresql-client make \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
# PYTHONDONTWRITEBYTECODE (and a read-only root filesystem) mean nothing is compiled at run
# time: compile site-packages and ERP Core's own modules here, or every start (each manage.py
# command, each worker) compiles them again (make bench-startup).
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode
COPY . .
RUN python -m compileall -q core api config manage.py
# Static files are baked into the image (whitenoise serves them): pods run with a read-only
# root filesystem (deploy/k8s). collectstatic needs no database or secret.
RUN DJANGO_SETTINGS_MODULE=config.settings.dev STATIC_ROOT=/app/staticfiles \
        python manage.py collectstatic --no-input
# uid 10001: the runAsUser of the Kubernetes manifests.
RUN useradd --system --uid 10001 --home /app erp && mkdir -p /app/media \
    && chown -R erp /app/media /app/staticfiles
USER 10001
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
