# The image the Helm chart runs: `oomguard webhook ...` as a non-root user.
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY policies ./policies
COPY linter ./linter
COPY webhook ./webhook
RUN pip install --no-cache-dir . && rm -rf /src
USER 65532:65532
WORKDIR /
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8443
ENTRYPOINT ["oomguard"]
CMD ["webhook", "--cert-file=/etc/oomguard/tls/tls.crt", "--key-file=/etc/oomguard/tls/tls.key", "--port=8443", "--policy=/etc/oomguard/policy/policy.yaml"]
