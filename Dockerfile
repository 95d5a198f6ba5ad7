# The image the Helm chart runs: `oomguard webhook ...` as a non-root user.
# Build: docker build -t ghcr.io/oomguard/oomguard:0.1.0 .
FROM python:3.11-slim

LABEL org.opencontainers.image.title="oomguard" \
      org.opencontainers.image.description="Kubernetes out-of-memory policy: linter and validating admission webhook" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY oomguard ./oomguard
COPY policies ./policies
COPY linter ./linter
COPY webhook ./webhook
RUN pip install --no-cache-dir . && rm -rf /src

# Numeric, so Kubernetes can verify runAsNonRoot without a passwd entry.
USER 65532:65532
WORKDIR /
EXPOSE 8443
ENTRYPOINT ["oomguard"]
CMD ["webhook", "--cert-file=/etc/oomguard/tls/tls.crt", "--key-file=/etc/oomguard/tls/tls.key", "--port=8443", "--policy=/etc/oomguard/policy/policy.yaml"]
