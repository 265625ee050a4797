# Parley: `make run` starts it with embedded defaults, `make test` runs the whole suite.
# Both install what is missing first.
SHELL := /bin/bash
NODE_MIN := 20.19
DEBIAN_PACKAGES := redis-server
# Real servers the tests start on loopback ports of their own: Prosody (XMPP), Kamailio with
# sipp / sipsak as external SIP users; Chromium for the portal's browser tests.
TEST_DEBIAN_PACKAGES := chromium prosody kamailio kamailio-websocket-modules kamailio-presence-modules sip-tester sipsak

.PHONY: deps .deps-system .deps-test portal run test typecheck lint bench clean

deps: .deps-system node_modules/.installed portal

# The management portal's single-page app, built into src/portal/dist when its sources change.
PORTAL_SOURCES := $(shell find src/portal/web -type f 2>/dev/null) src/portal/vite.config.ts
portal: src/portal/dist/index.html
src/portal/dist/index.html: node_modules/.installed $(PORTAL_SOURCES)
	npm run build:portal

.deps-system:
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number);const [x,y]="$(NODE_MIN)".split(".").map(Number);if(a<x||(a===x&&b<y)){console.error("Parley needs Node.js >= $(NODE_MIN), found "+process.versions.node);process.exit(1)}'
	@if [ -n "$$REDIS_URL" ] && [ "$(MAKECMDGOALS)" = "run" ]; then exit 0; fi; \
	scripts/debian-packages.sh command Parley " (or set REDIS_URL to use your own Redis)" $(DEBIAN_PACKAGES)

.deps-test:
	@scripts/debian-packages.sh package "the tests" "" $(TEST_DEBIAN_PACKAGES)

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
	rm -rf node_modules .parley test-output test-results src/portal/dist
