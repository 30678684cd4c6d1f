# agentmortem: OTLP receiver + analyzer + API in one image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY collector ./collector
COPY semconv ./semconv
COPY analyzer ./analyzer
RUN pip install --no-cache-dir .
ENV AGENTMORTEM_HOST=0.0.0.0 \
    AGENTMORTEM_CLICKHOUSE_URL=chdb:///data/agentmortem
VOLUME ["/data"]
EXPOSE 4317 4318 8000
ENTRYPOINT ["agentmortem"]
CMD ["serve"]
