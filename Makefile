# Parley: `make run` starts it with embedded defaults, `make test` runs the whole suite.
# Both install what is missing first.
SHELL := /bin/bash
NODE_MIN := 20.19
DEBIAN_PACKAGES := redis-server
# Real servers the tests start on loopback ports of their own: Prosody (XMPP), Kamailio with
# sipp / sipsak as external SIP users.
TEST_DEBIAN_PACKAGES := prosody kamailio kamailio-websocket-modules kamailio-presence-modules sip-tester sipsak

.PHONY: deps .deps-system .deps-test run test typecheck lint bench clean

deps: .deps-system node_modules/.installed

.deps-system:
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number);const [x,y]="$(NODE_MIN)".split(".").map(Number);if(a<x||(a===x&&b<y)){console.error("Parley needs Node.js >= $(NODE_MIN), found "+process.versions.node);process.exit(1)}'
	@missing=""; for p in $(DEBIAN_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$REDIS_URL" ] && [ "$(MAKECMDGOALS)" = "run" ]; then missing=""; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Parley needs:$$missing. Install with: sudo apt-get install -y$$missing (or set REDIS_URL to use your own Redis)"; exit 1; \
	  fi; \
	fi

.deps-test:
	@missing=""; for p in $(TEST_DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The tests need:$$missing. Install with: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# chdb's lock entry names platform packages the registry does not carry (darwin, arm64),
# which `npm ci` refuses; `npm install` honours the same lock file and skips them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund
	@touch $@

run: deps
	node bin/parley.js run

typecheck: deps
	npm run typecheck

lint: deps
	npm run lint

test: deps .deps-test
	npm run typecheck
	npm run lint
	npx vitest run

bench: deps .deps-test
	npm run bench

clean:
	rm -rf node_modules .parley test-output
