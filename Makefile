# Image URL to use all building/pushing image targets
IMG ?= controller:latest
# The version the manager reports (--version and its first log line), set at build time by -ldflags.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS ?= -X main.version=$(VERSION)

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# CONTAINER_TOOL defines the container tool to be used for building images.
# This project's development and CI machines run no container engine: docker-build and
# docker-push are for machines that have one (docker or podman).
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

# Separate Go modules with tests, tested and tidied when present: the cert-manager integration tests, and the
# PromQL checks of the alerts and the Grafana dashboard (each keeps its heavy dependencies out of go.mod).
NESTED_TEST_MODULES ?= test/certmanager test/observability

.PHONY: all
all: build

##@ General

# The help target prints out all targets with their descriptions organized
# beneath their categories. The categories are represented by '##@' and the
# target descriptions by '##'.

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate WebhookConfiguration, ClusterRole and CustomResourceDefinition objects.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

.PHONY: test
test: manifests generate fmt vet envtest helm ## Run unit and envtest tests (real kube-apiserver + etcd from bin/k8s).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test $$(go list ./... | grep -v -e /test/e2e -e /test/faults -e /test/cluster) -coverprofile cover.out
	@for d in $(NESTED_TEST_MODULES); do \
		if [ -f $$d/go.mod ]; then \
			echo "cd $$d && go test ./..."; \
			(cd $$d && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test ./...) || exit 1; \
		fi; \
	done

# test/faults (Ginkgo, issue 6): the operator against the fake Cloudflare API on its bad days (the manager
# killed at every step 20 times, 5xx outage, rate limit, quota, orphans, drift, leader election), about 8
# minutes on 2 cores, so outside `make test`. Figures in bin/faults-summary.txt; FAULTS_KILLS=n for a quick run.
.PHONY: test-faults
test-faults: manifests generate fmt vet envtest ## Run the fault suite (test/faults); its figures go to bin/faults-summary.txt.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test ./test/faults/ -count=1 -timeout 30m -v
	@cat bin/faults-summary.txt

# test/e2e (Ginkgo): a real kube-apiserver + etcd (from `make envtest`), config/default's CRDs and RBAC
# (kustomize), the fake Cloudflare API and bin/manager as processes, the manager authenticated as its
# ServiceAccount (TokenRequest). No container engine needed; logs in bin/e2e/.
.PHONY: test-e2e
test-e2e: manifests generate fmt vet envtest kustomize ## Run the e2e tests (test/e2e) against a real kube-apiserver + etcd, the manager as its ServiceAccount.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test ./test/e2e/ -count=1 -timeout 30m -v -ginkgo.v

# test/cluster (Ginkgo, issue 16): the image from `make image` in a real Pod of a one-node cluster built from
# source on this machine (internal/localcluster: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd + runc, kubelet, kube-proxy, a CNI bridge), installed with helm and with
# dist/install.yaml; lifecycle, metrics, failover, namespace deletion, garbage collection; then everything torn
# down and checked gone. Needs root; `make cluster-binaries` apt-gets and builds the node's programs into
# bin/cluster once (about 15 minutes on 2 cores). One cluster per machine: a second run waits for the
# first (a lock in /run). Logs in bin/cluster-test/.
.PHONY: test-cluster
test-cluster: manifests generate fmt vet envtest helm image cluster-binaries ## Run test/cluster: the operator's image in Pods of a one-node cluster built from source (root).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test ./test/cluster/ -count=1 -timeout 90m -v -ginkgo.v

# The node's programs (kubelet, kube-proxy, kube-controller-manager, kube-scheduler, containerd, runc) in
# bin/cluster, built from the Go module proxy; as root, the Debian packages the node needs are apt-get
# installed first. After envtest: kube-apiserver's compiled packages are reused from the build cache.
.PHONY: cluster-binaries
cluster-binaries: envtest ## Build the one-node cluster's programs into bin/cluster (minutes, once).
	hack/cluster-binaries.sh bin/cluster >/dev/null

# make cluster: the same one-node cluster with the operator's image imported, until Ctrl-C (hack/cluster);
# the admin kubeconfig is bin/cluster-run/kubeconfig. `go run ./hack/cluster -cleanup` tears down what a
# killed run left.
.PHONY: cluster
cluster: envtest image ## Run a one-node cluster (kubelet, containerd, CNI) with the operator's image, until Ctrl-C (root).
	go run ./hack/cluster

# kubebuilder's e2e path, for machines with a container engine and kind: the same suite against a kind
# cluster, with the image built by docker-build, loaded into kind, and config/default deployed as is (but for
# the image and --cloudflare-api-url). The fake Cloudflare API runs on this host and listens on the kind
# network's gateway (E2E_FAKE_HOST, e.g. 172.18.0.1 with docker on Linux), which the Pod reaches.
KIND ?= kind
KIND_CLUSTER ?= cloudflare-token-operator-test-e2e
E2E_IMG ?= example.com/cloudflare-token-operator:e2e
# empty: the IPv4 gateway of the container network "kind"
E2E_FAKE_HOST ?=

.PHONY: setup-test-e2e-kind
setup-test-e2e-kind: ## Create the kind cluster for test-e2e-kind unless it exists (needs kind and a container engine).
	@command -v $(KIND) >/dev/null 2>&1 || { echo "kind is not installed: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"; exit 1; }
	@case "$$($(KIND) get clusters)" in \
		*"$(KIND_CLUSTER)"*) echo "kind cluster $(KIND_CLUSTER) exists" ;; \
		*) $(KIND) create cluster --name $(KIND_CLUSTER) ;; \
	esac

.PHONY: test-e2e-kind
test-e2e-kind: setup-test-e2e-kind manifests generate fmt vet kustomize ## Run test/e2e on a kind cluster with the manager's image deployed (needs kind and a container engine; none runs here).
	$(MAKE) docker-build IMG=$(E2E_IMG)
	$(KIND) load docker-image $(E2E_IMG) --name $(KIND_CLUSTER)
	@fake_host="$(E2E_FAKE_HOST)"; [ -n "$$fake_host" ] || fake_host=$$($(CONTAINER_TOOL) network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.'); \
	status=0; KIND="$(KIND)" E2E_KIND_CLUSTER="$(KIND_CLUSTER)" E2E_IMG="$(E2E_IMG)" E2E_FAKE_HOST="$$fake_host" \
		go test ./test/e2e/ -count=1 -timeout 30m -v -ginkgo.v || status=$$?; \
	$(KIND) delete cluster --name $(KIND_CLUSTER); exit $$status

.PHONY: cleanup-test-e2e-kind
cleanup-test-e2e-kind: ## Delete the kind cluster of test-e2e-kind.
	@$(KIND) delete cluster --name $(KIND_CLUSTER)

# make bench: test/bench on envtest (kube-apiserver + etcd from bin/k8s), the fake Cloudflare API with 50 ms of
# latency and bin/manager as its own process: Cloudflare calls per mint, rotation, restart and drift sweep,
# create-to-Ready latency at 1, 50 and 500, the manager's peak RSS and CPU with 2,000 unrelated 1 MiB Secrets,
# the busiest 5-minute window, and the Go micro-benchmarks. Prints a table and writes BENCHMARKS.md (about 5
# to 10 minutes on 2 cores; logs in bin/bench/). BENCH_ARGS passes flags, e.g. BENCH_ARGS="-tokens 20 -secrets 0".
.PHONY: bench
bench: envtest ## Measure Cloudflare calls, latency, memory and CPU at scale; print a table and write BENCHMARKS.md.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go run ./test/bench $(BENCH_ARGS)

# make demo: a local kube-apiserver + etcd (bin/k8s), the fake Cloudflare API and bin/manager as processes,
# the CRDs and config/samples applied with kubectl; it waits for Ready, shows the result and runs until
# Ctrl-C, then stops everything. Kubeconfig and logs in bin/demo/. DEMO_EXIT=1: exit 0 once Ready.
.PHONY: demo
demo: envtest ## Run the operator locally against the fake Cloudflare API until Ctrl-C (DEMO_EXIT=1: exit once Ready).
	@go build -o bin/demo-run ./hack/demo
	@bin/demo-run

.PHONY: test-demo
test-demo: envtest ## Run the demo end to end, non-interactively and with Ctrl-C (hack/demo's tests).
	go test ./hack/demo/ -count=1 -v

.PHONY: verify
verify: ## Regenerate everything, tidy go.mod, and fail if that changed any file.
	$(MAKE) manifests generate fmt build-installer
	go mod tidy
	@for d in $(NESTED_TEST_MODULES); do \
		if [ -f $$d/go.mod ]; then \
			echo "cd $$d && go mod tidy"; \
			(cd $$d && go mod tidy) || exit 1; \
		fi; \
	done
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "verify: the tree differs from what the generators and go mod tidy produce:"; \
		git status --porcelain; \
		git --no-pager diff; \
		exit 1; \
	fi
	@echo "verify: clean"

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration.
	$(GOLANGCI_LINT) config verify

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build manager binary.
	go build -ldflags "$(LDFLAGS)" -o bin/manager ./cmd

# The kubectl plugin (cmd/kubectl-cftoken): with bin/ on PATH, kubectl runs it as `kubectl cftoken`.
.PHONY: build-plugin
build-plugin: fmt vet ## Build the kubectl plugin bin/kubectl-cftoken (`kubectl cftoken`).
	go build -o bin/kubectl-cftoken ./cmd/kubectl-cftoken

# The plugin's release assets (a static binary per platform of .krew.yaml, in a tar.gz) and its krew
# manifest with their sha256, in bin/krew/ (hack/krew; cross-compiles, minutes).
.PHONY: krew-manifest
krew-manifest: ## Build kubectl-cftoken's release archives and render its krew manifest into bin/krew (TAG=v0.1.0).
	@[ -n "$(TAG)" ] || { echo "krew-manifest: set TAG, e.g. make krew-manifest TAG=v0.1.0"; exit 2; }
	go run ./hack/krew -tag "$(TAG)" -out bin/krew

.PHONY: run
run: manifests generate fmt vet ## Run a controller from your host.
	go run -ldflags "$(LDFLAGS)" ./cmd

# make image: the manager's image without a container engine, as an OCI archive (load it with
# `ctr -n k8s.io images import`, `skopeo copy oci-archive:...` or `podman load`): bin/manager built as the
# Dockerfile's builder stage builds it, on the files of distroless/static:nonroot, with the Dockerfile's user,
# entrypoint and labels (hack/image; test/packaging checks that both describe the same image).
IMAGE_ARCHIVE ?= bin/image/cloudflare-token-operator.tar
.PHONY: image
image: ## Build the manager's image as an OCI archive in $(IMAGE_ARCHIVE), named $(IMG), without a container engine.
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w $(LDFLAGS)" -o bin/manager ./cmd
	go run ./hack/image -binary bin/manager -ref $(IMG) -out $(IMAGE_ARCHIVE)

# docker-build and docker-push need a container engine; none runs on this project's development or
# CI machines, so these targets are for a workstation or a release pipeline that has one.
.PHONY: docker-build
docker-build: ## Build docker image with the manager (needs a container engine; none runs here).
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager (needs a container engine; none runs here).
	$(CONTAINER_TOOL) push ${IMG}

# PLATFORMS defines the target platforms for the manager image be built to provide support to multiple
# architectures (needs docker buildx and a container engine).
PLATFORMS ?= linux/arm64,linux/amd64,linux/s390x,linux/ppc64le
.PHONY: docker-buildx
docker-buildx: ## Build and push docker image for the manager for cross-platform support.
	# copy existing Dockerfile and insert --platform=${BUILDPLATFORM} into Dockerfile.cross, and preserve the original Dockerfile
	sed -e '1 s/\(^FROM\)/FROM --platform=\$$\{BUILDPLATFORM\}/; t' -e ' 1,// s//FROM --platform=\$$\{BUILDPLATFORM\}/' Dockerfile > Dockerfile.cross
	- $(CONTAINER_TOOL) buildx create --name cloudflare-token-operator-builder
	$(CONTAINER_TOOL) buildx use cloudflare-token-operator-builder
	- $(CONTAINER_TOOL) buildx build --push --platform=$(PLATFORMS) --build-arg VERSION=$(VERSION) --tag ${IMG} -f Dockerfile.cross .
	- $(CONTAINER_TOOL) buildx rm cloudflare-token-operator-builder
	rm Dockerfile.cross

# dist/install.yaml is config/default with the image IMG, built through a throw-away overlay in bin/installer
# (config/manager is left as it is). The same step copies what the Helm chart shares with config/ into
# dist/chart (CRDs, the manager's ClusterRole rules, the admission policies, the alerts, the Grafana dashboard), so that `make verify`
# catches a chart that drifted from config/.
CHART_DIR ?= dist/chart
.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate dist/install.yaml (CRDs, RBAC, Deployment, metrics Service, admission policies) and the chart's copies of config/.
	@mkdir -p dist bin/installer
	@printf '%s\n' 'apiVersion: kustomize.config.k8s.io/v1beta1' 'kind: Kustomization' 'resources:' '- ../../config/default' > bin/installer/kustomization.yaml
	cd bin/installer && $(KUSTOMIZE) edit set image controller=${IMG}
	{ echo '# cloudflare-token-operator: CRDs, RBAC, Deployment, metrics Service and admission policies.'; \
	  echo '# Generated by `make build-installer` from config/default (image ${IMG}); do not edit.'; \
	  echo '# The manager runs with its defaults: JSON logs at info level (--zap-log-level, --zap-encoder),'; \
	  echo '# --drift-interval=10m, --orphan-grace=30m, --max-concurrent-reconciles=4, --kube-api-qps=0 (no client-side'; \
	  echo '# limit), leader election 15s/10s/2s, GOMEMLIMIT from its memory limit. Add flags to its args to change them;'; \
	  echo '# every flag: README.md, "Manager flags"; every install option: docs/install.md.'; \
	  $(KUSTOMIZE) build bin/installer; } > dist/install.yaml
	@rm -rf bin/installer
	@mkdir -p $(CHART_DIR)/templates/crd $(CHART_DIR)/templates/rbac $(CHART_DIR)/templates/admission $(CHART_DIR)/files
	@for f in config/crd/bases/*.yaml; do \
		{ echo '{{- if .Values.crds.enable }}'; \
		  sed -e '/^---$$/d' \
		      -e 's/^  annotations:$$/  annotations:\n    {{- if .Values.crds.keep }}\n    helm.sh\/resource-policy: keep\n    {{- end }}/' \
		      -e 's/^  name: \(.*\)$$/  labels:\n    {{- include "chart.labels" . | nindent 4 }}\n  name: \1/' $$f; \
		  echo '{{- end }}'; } > $(CHART_DIR)/templates/crd/$$(basename $$f); \
	done
	@{ echo '# Generated by `make build-installer` from config/rbac/role.yaml (controller-gen); do not edit.'; \
	   echo 'apiVersion: rbac.authorization.k8s.io/v1'; echo 'kind: ClusterRole'; echo 'metadata:'; \
	   echo '  labels:'; echo '    {{- include "chart.labels" . | nindent 4 }}'; \
	   echo '  name: {{ include "chart.fullname" . }}-manager-role'; \
	   sed -n '/^rules:/,$$p' config/rbac/role.yaml; } > $(CHART_DIR)/templates/rbac/manager-role.yaml
	@{ echo '{{- if .Values.admissionPolicies.enable }}'; \
	   echo '# Generated by `make build-installer` from config/admission (see docs/admission.md); do not edit.'; \
	   sed -e 's/^  name: \(.*\)$$/  name: {{ include "chart.fullname" . }}-\1/' \
	       -e 's/^  policyName: \(.*\)$$/  policyName: {{ include "chart.fullname" . }}-\1/' \
	       -e 's/^    app.kubernetes.io\/managed-by: kustomize$$/    app.kubernetes.io\/managed-by: {{ .Release.Service }}/' \
	       config/admission/validating_admission_policies.yaml; \
	   echo '{{- end }}'; } > $(CHART_DIR)/templates/admission/validating-admission-policies.yaml
	@cp config/prometheus/alerts.yaml $(CHART_DIR)/files/alerts.yaml
	@cp config/grafana/cloudflare-token-operator.json $(CHART_DIR)/files/grafana-dashboard.json
	@{ echo '# Argo CD resource customizations (health of the three kinds, the "rotate" action of CloudflareToken):'; \
	   echo '# merge into the argocd-cm ConfigMap (kubectl -n argocd patch configmap argocd-cm --patch-file ...).'; \
	   echo '# Generated by `make build-installer` from config/argocd/*.lua; do not edit.'; \
	   echo 'data:'; \
	   for k in CloudflareToken TokenIssuer ClusterTokenIssuer; do \
	     echo "  resource.customizations.health.cloudflare.tokenoperator.dev_$$k: |"; sed 's/^/    /' config/argocd/health.lua; \
	   done; \
	   echo '  resource.customizations.actions.cloudflare.tokenoperator.dev_CloudflareToken: |'; \
	   echo '    discovery.lua: |'; sed 's/^/      /' config/argocd/discovery.lua; \
	   echo '    definitions:'; echo '      - name: rotate'; echo '        action.lua: |'; \
	   sed 's/^/          /' config/argocd/rotate.lua; } > config/argocd/argocd-cm-patch.yaml

# helm lint and helm template on dist/chart (CI runs both): default values, and a second set with every
# option on (replicas 2 and their PodDisruptionBudget, ServiceMonitor verifying a metrics certificate,
# PrometheusRule, both NetworkPolicies, a topology spread constraint). values.schema.json checks the values.
HELM_TEMPLATE_HA_VALUES = --set replicaCount=2 --set prometheus.serviceMonitor.enable=true \
	--set prometheus.rules.enable=true --set networkPolicy.enable=true --set networkPolicy.egress.enable=true \
	--set grafana.dashboards.enable=true \
	--set metrics.certSecret=metrics-server-cert --set topologySpreadConstraints[0].maxSkew=1 \
	--set topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname \
	--set topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway
.PHONY: helm-lint
helm-lint: helm ## Run helm lint on dist/chart (default values and every option on).
	$(HELM) lint --strict $(CHART_DIR)
	$(HELM) lint --strict $(CHART_DIR) $(HELM_TEMPLATE_HA_VALUES)

.PHONY: helm-template
helm-template: helm ## Render dist/chart with helm template (default values and every option on).
	$(HELM) template cloudflare-token-operator $(CHART_DIR) --namespace cloudflare-token-operator > /dev/null
	$(HELM) template cloudflare-token-operator $(CHART_DIR) --namespace cloudflare-token-operator $(HELM_TEMPLATE_HA_VALUES) > /dev/null
	@echo "helm template: dist/chart renders with default values and with every option on"

# test/packaging: dist/install.yaml, the Helm chart and config/default dry-run against a real kube-apiserver
# (restricted Pod Security included), and the Dockerfile's build command producing a static binary.
# A plain Go package, so `make test` runs it too; it needs bin/helm (make helm).
.PHONY: test-packaging
test-packaging: envtest helm ## Run test/packaging (install.yaml, Helm chart, config/default on the API server; the Dockerfile's build).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS_DIR)" go test ./test/packaging/ -count=1 -v -timeout 20m

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy controller to the K8s cluster specified in ~/.kube/config.
	cd config/manager && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: kustomize ## Undeploy controller from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Tool Binaries
KUBECTL ?= kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
ENVTEST ?= $(LOCALBIN)/setup-envtest
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint
HELM ?= $(LOCALBIN)/helm

## Tool Versions (each must build with the Go toolchain in go.mod: GOTOOLCHAIN=local, no downloads)
KUSTOMIZE_VERSION ?= v5.8.2
CONTROLLER_TOOLS_VERSION ?= v0.23.0
#ENVTEST_VERSION is the setup-envtest version (controller-runtime's tools/setup-envtest module, release-0.25)
ENVTEST_VERSION ?= v0.25.1
#ENVTEST_K8S_VERSION is the version of Kubernetes whose kube-apiserver, etcd and kubectl envtest runs
#(v1.37.1: the module proxy lists v1.37.2 of k8s.io/kubernetes but does not serve its zip)
ENVTEST_K8S_VERSION ?= 1.37.1
ENVTEST_ETCD_VERSION ?= 3.6.16
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v4.3.1

## Where `make envtest` leaves kube-apiserver, etcd and kubectl (KUBEBUILDER_ASSETS for the tests)
ENVTEST_ASSETS_DIR ?= $(LOCALBIN)/k8s/$(ENVTEST_K8S_VERSION)

.PHONY: kustomize
kustomize: $(LOCALBIN) ## Download kustomize locally if necessary.
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(LOCALBIN) ## Download controller-gen locally if necessary.
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: setup-envtest
setup-envtest: $(LOCALBIN) ## Download setup-envtest locally if necessary.
	$(call go-install-tool,$(ENVTEST),sigs.k8s.io/controller-runtime/tools/setup-envtest,$(ENVTEST_VERSION))

# envtest leaves kube-apiserver, etcd and kubectl in $(ENVTEST_ASSETS_DIR): first through setup-envtest,
# and where that cannot download (this project's machines), built from the Go module proxy by
# hack/envtest-binaries.sh (about 5 minutes on 2 cores, once; cached in bin/ afterwards).
.PHONY: envtest
envtest: $(LOCALBIN) ## Provide kube-apiserver, etcd and kubectl for envtest in bin/k8s/<version> (built from source if needed).
	@if [ -x "$(ENVTEST_ASSETS_DIR)/kube-apiserver" ] && [ -x "$(ENVTEST_ASSETS_DIR)/etcd" ] && [ -x "$(ENVTEST_ASSETS_DIR)/kubectl" ]; then \
		echo "$(ENVTEST_ASSETS_DIR)"; \
	else \
		$(MAKE) --no-print-directory setup-envtest && \
		SETUP_ENVTEST="$(ENVTEST)" K8S_VERSION="$(ENVTEST_K8S_VERSION)" ETCD_VERSION="$(ENVTEST_ETCD_VERSION)" \
			hack/envtest-binaries.sh "$(ENVTEST_ASSETS_DIR)"; \
	fi

.PHONY: golangci-lint
golangci-lint: $(LOCALBIN) ## Download golangci-lint locally if necessary.
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: helm
helm: $(LOCALBIN) ## Download helm locally if necessary.
	$(call go-install-tool,$(HELM),helm.sh/helm/v4/cmd/helm,$(HELM_VERSION))

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist.
# The tool targets above are phony and call it every time: it only checks for the versioned binary
# ($1-$3), so bumping a *_VERSION variable installs the new version and repoints the symlink.
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(1)" "$(1)-$(3)" ;\
} ;\
ln -sf "$(1)-$(3)" "$(1)"
endef
