# A stand-in for python:3.11-slim, built offline from Debian bookworm's packages: Python 3.11 as
# `python`, with venv (and ensurepip's pip), and the CA certificates the machine trusts.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 ca-certificates \
    && update-ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8
CMD ["python3"]
