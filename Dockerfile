# syntax=docker/dockerfile:1
# Images for Agora's services; docker-compose.yml builds each target it runs:
#
#   chain    anvil (and cast, for the health check) from the npm packages package-lock.json pins
#   runtime  the `agora` command: migrations, indexer, Celery worker and beat; no Node, no compiler
#   deploy   runtime + Node, solc (solcjs behind tools/solc-wrapper.js), OpenZeppelin and the
#            compiled contracts, for `brownie run scripts/deploy.py`
#
# The versions are the ones ./dev installs (UV_VERSION, SOLC_VERSION; tests/test_compose.py
# checks they agree), so an image builds what the tests ran against.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- npm toolchain
FROM ${NODE_IMAGE} AS npm
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# ---------------------------------------------------------------- chain
FROM ${PYTHON_IMAGE} AS chain
COPY --from=npm /build/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil /usr/local/bin/anvil
COPY --from=npm /build/node_modules/@foundry-rs/cast-linux-amd64/bin/cast /usr/local/bin/cast
# The state file lives in /data (a named volume: compose copies this ownership into it).
RUN useradd --uid 10001 --create-home agora && mkdir /data && chown agora /data
USER agora
WORKDIR /data
EXPOSE 8545
CMD ["anvil", "--host", "0.0.0.0", "--port", "8545", "--state", "/data/anvil.json"]

# ---------------------------------------------------------------- Python base
FROM ${PYTHON_IMAGE} AS base
ARG UV_VERSION=0.13.9
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}" \
    && useradd --uid 10001 --create-home agora \
    && mkdir -p /deployments /var/lib/agora \
    && chown agora /deployments /var/lib/agora
WORKDIR /app
# Dependencies first, in a layer of their own: it survives changes to Agora's own code.
# The dev group (brownie, pytest, ruff, mypy, slither) stays out of the services' image:
# they never import brownie. The deploy image adds it.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY backend ./backend
# Installed editable, as ./dev does: agora's ROOT is then /app, the checkout's layout.
RUN uv sync --frozen --no-dev

# ---------------------------------------------------------------- runtime
FROM base AS runtime
USER agora
CMD ["agora", "--help"]

# ---------------------------------------------------------------- deploy
FROM base AS deploy
ARG SOLC_VERSION=0.8.28
COPY --from=npm /usr/local/bin/node /usr/local/bin/node
COPY --from=npm /build/node_modules ./node_modules
COPY brownie-config.yaml ./
COPY contracts ./contracts
COPY scripts ./scripts
COPY tools/solc-wrapper.js ./tools/solc-wrapper.js
# brownie compiles and deploys: the dev group, here only.
RUN uv sync --frozen
# py-solc-x and brownie find the compiler as $SOLCX_BINARY_PATH/solc-v<version> (./dev setup_solc).
ENV SOLCX_BINARY_PATH=/app/.solc \
    PATH=/app/.solc:/app/node_modules/.bin:$PATH
RUN mkdir .solc \
    && chmod +x tools/solc-wrapper.js \
    && ln -s ../tools/solc-wrapper.js ".solc/solc-v${SOLC_VERSION}" \
    && mkdir build && chown agora build
USER agora
# Compiled once here, so a deploy starts sending at once. The brownie network the deploy
# runs on (kept in ~/.brownie): chain id 31337 is the chain service's; the deploy points
# its host at AGORA_RPC_URL before it runs (docker-compose.yml).
RUN brownie compile >/dev/null \
    && brownie networks add Ethereum agora-compose host=http://chain:8545 chainid=31337 >/dev/null
CMD ["brownie", "--help"]
