# linkzoom as a container: `linkzoom run` (API, console and worker) by default, or any other
# command (`migrate`, `worker`, `doctor`, …) given as the container's arguments.
# Slim, non-root, no build tools in the final image. docs/operations.md shows it in use.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY linkzoom ./linkzoom
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/linkzoom --create-home linkzoom
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER linkzoom
WORKDIR /var/lib/linkzoom
# The SQLite file and a generated key ring live here: mount a volume on it when not using
# PostgreSQL with LINKZOOM_KEYS.
ENV LINKZOOM_VAR_DIR=/var/lib/linkzoom/var \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8000
# /healthz is liveness; orchestrators that route traffic should probe /readyz (database
# reachable, every stored secret's key in the ring).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["linkzoom"]
CMD ["run", "--host", "0.0.0.0", "--port", "8000"]
