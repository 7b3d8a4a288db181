# The shared demo as a container (read-only demo mode, no dataset needed, no network at run time):
#   docker build -t gan-workbench . && docker run -p 8501:8501 gan-workbench
# Builds for linux/amd64 and linux/arm64 alike (requirements.txt picks TensorFlow's wheel for each):
#   docker buildx build --platform linux/amd64,linux/arm64 -t gan-workbench .
# Hosts that assign the port set $PORT; the health check follows it.
# Visitor training is off; to allow it: -e GANLIB_DEMO_TRAIN_SECONDS=60, plus MNIST on the host
# (mount it and set GANLIB_DATA_DIR, or -e GANLIB_OFFLINE=0 to let Keras download it once).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GANLIB_DEMO=1 \
    GANLIB_OFFLINE=1 \
    GANLIB_AUTO_RESUME=0 \
    PORT=8501

RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
# Owned by root and not writable by the server's user: the code and the shipped runs stay as built.
COPY . .
RUN chmod -R a-w,a+rX /app
USER app

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/_stcore/health', timeout=4)"
CMD ["sh", "-c", "exec streamlit run app.py --server.port=${PORT} --server.address=0.0.0.0"]
