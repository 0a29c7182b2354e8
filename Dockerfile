# longwrite in front of an OpenAI-compatible server (compose.yaml puts it beside vLLM): the base
# package and the web writer, no llama.cpp and no torch.
FROM python:3.11-slim

RUN useradd --create-home longwrite && mkdir /data && chown longwrite /data
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir ".[web]"

USER longwrite
ENV LONGWRITE_HOME=/data
EXPOSE 8000
CMD ["longwrite", "serve", "--host", "0.0.0.0", "--port", "8000"]
