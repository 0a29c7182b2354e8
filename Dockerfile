# longwrite in front of an OpenAI-compatible server (compose.yaml puts it beside vLLM): the base
# package and the web writer, no llama.cpp and no torch, at the lock's versions (uv.lock).
FROM python:3.11-slim

RUN useradd --create-home longwrite && mkdir /data && chown longwrite /data
WORKDIR /src
COPY . .
# uv at the lock's own version exports the lock's pins for what the web extra needs; the install
# takes exactly those, never whatever is newest on the day the image is built.
RUN UV_VERSION=$(sed -n '/^name = "uv"$/{n;s/^version = "\(.*\)"$/\1/p;}' uv.lock) \
    && pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv export --frozen --no-hashes --no-emit-project --extra web -o /tmp/constraints.txt \
    && uv pip install --system --no-cache ".[web]" -c /tmp/constraints.txt

USER longwrite
ENV LONGWRITE_HOME=/data
EXPOSE 8000
CMD ["longwrite", "serve", "--host", "0.0.0.0", "--port", "8000"]
