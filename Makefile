# One Model, Three Ways. `make help` lists the targets; `make demo` and `make test` are the two
# that matter on a fresh clone, and each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
UV_VERSION := 0.13.9
ARTIFACTS := model/artifacts
MODEL := $(ARTIFACTS)/model.onnx
PORT ?= 8000

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------- environment
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements/dev.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

.PHONY: setup
setup: $(VENV)/.installed ## Create .venv with every pinned dependency (uv, from requirements/dev.txt)

.PHONY: lock
lock: ## Re-pin requirements/*.txt from pyproject.toml and the bench peers' requirements.txt (no registry hosts in the output)
	$(BIN)/uv pip compile -q pyproject.toml --all-extras --python-version 3.11 -o requirements/dev.txt
	$(BIN)/uv pip compile -q pyproject.toml --extra serving --python-version 3.13 --generate-hashes -c requirements/dev.txt -o requirements/serving.txt
	$(BIN)/uv pip compile -q pyproject.toml --extra lambda --python-version 3.13 -c requirements/dev.txt -o requirements/lambda.txt
	for peer in bench/peers/*/requirements.in; do $(BIN)/uv pip compile -q --python-version 3.11 $$peer -o $${peer%.in}.txt; done

# ---------------------------------------------------------------- model and app
$(MODEL): model/train.py requirements/dev.txt | $(VENV)/.installed
	$(BIN)/python -m model.train

.PHONY: model
model: $(MODEL) ## Train, export to ONNX and check parity (a no-op when nothing changed)

.PHONY: serve
serve: $(MODEL) ## Run the app locally with uvicorn on 127.0.0.1:8000 (PORT=... to change)
	APP_PORT=$(PORT) $(BIN)/python -m serving

# ---------------------------------------------------------------- quality
.PHONY: lint
lint: $(VENV)/.installed ## ruff, ruff format --check, mypy and the import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy model serving infra loadtests bench tests
	$(BIN)/lint-imports --no-cache

.PHONY: format
format: $(VENV)/.installed ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The real SAM CLI (test_deploy_tools runs `sam build` and `sam local invoke`) in its own venv: its pins
# clash with the project's. The version is the one infra/local/rie.py takes the RIE from.
SAM_VENV := .cache/sam-cli
SAM_CLI_VERSION := $(shell sed -n 's/^SAM_CLI_VERSION = "\(.*\)"$$/\1/p' infra/local/rie.py)

$(SAM_VENV)/.installed-$(SAM_CLI_VERSION): | $(VENV)/.installed
	rm -rf $(SAM_VENV) && $(PYTHON) -m venv $(SAM_VENV)
	$(BIN)/uv pip install -q --python $(SAM_VENV)/bin/python "aws-sam-cli==$(SAM_CLI_VERSION)"
	touch $@

.PHONY: sam-cli
sam-cli: $(SAM_VENV)/.installed-$(SAM_CLI_VERSION) ## Install the SAM CLI into .cache/sam-cli (for the deploy-tool tests)

# checkov (test_checkov runs its two ALB TLS checks on the templates), in its own venv like the SAM CLI.
CHECKOV_VENV := .cache/checkov
CHECKOV_VERSION := 3.3.30

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION): | $(VENV)/.installed
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(BIN)/uv pip install -q --python $(CHECKOV_VENV)/bin/python "checkov==$(CHECKOV_VERSION)"
	touch $@

.PHONY: checkov
checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION) ## Install checkov into .cache/checkov (for test_checkov)

.PHONY: test
test: $(MODEL) sam-cli checkov ## Lint, then run the whole test suite
	$(MAKE) lint
	$(BIN)/pytest

# The markers (pyproject.toml) of what the quick lane leaves to `make test`: tests/conftest.py adds
# docker, systemd and sam from the fixtures a test uses; load is marked where Locust or the bench runs.
# Its tests share no state, so pytest-xdist runs them on every core (make test keeps one process:
# the container and load tests pace themselves against the machine's cores).
FAST_LANE := not (docker or systemd or sam or load)

.PHONY: test-fast
test-fast: $(MODEL) checkov ## Every test that needs no Docker, systemd, SAM or load (no lint; make test runs all)
	$(BIN)/pytest -n auto -m "$(FAST_LANE)"

# ---- load tests and the comparison
# Locust (headless, real) against three targets, then reports/<run-id>/report.md + report.json + charts.
# `make demo` emulates the three ways on this machine (127.0.0.1 only, no AWS account); `make loadtest`
# and `make compare` measure the deployed stacks (found through their CloudFormation outputs).
# Knobs (all optional): DEMO_ARGS / LOADTEST_ARGS, e.g. "--hold 120 --users 16 --batch-size 8 --processes 2";
# PROTOCOL=oip drives the Open Inference Protocol (POST /v2/models/<name>/infer) instead of /predict.
TARGET ?= lambda
SCENARIO ?= steady
PROTOCOL ?= rest
DEMO_ARGS ?=
LOADTEST_ARGS ?=

# TLS=1: each way's steady run again over HTTPS (HAProxy and the local Function URL terminate TLS with
# a certificate made for the run under .cache/tls/), beside the plain one in the report.
TLS ?=

.PHONY: demo
demo: $(MODEL) ## The three ways side by side on this machine: cold, steady and step runs, then the report (TLS=1: over HTTPS too)
	$(BIN)/python -m loadtests.demo --protocol $(PROTOCOL) $(if $(filter 1 yes true,$(TLS)),--tls) $(DEMO_ARGS)

.PHONY: reference-run
reference-run: $(MODEL) ## A fresh make demo, its report and charts copied to docs/reference-run/ (the README's and guide's figures)
	$(BIN)/python -m loadtests.reference_run --protocol $(PROTOCOL) $(DEMO_ARGS)

# Rolling restart, crash, soak and slow clients under load, per way (ec2/ecs behind HAProxy, the
# local ALB). FAULTS_ARGS="--soak-seconds 600" for the 10-minute soak.
FAULTS_ARGS ?=

.PHONY: faults
faults: $(MODEL) ## Fault scenarios under load on the three local ways, and their report (make demo points here)
	$(BIN)/python -m loadtests.faults $(FAULTS_ARGS)

# Both stop in one line, before anything is scaled, unless every stack is stable and every endpoint answers
# /health from here (ALLOWED_CIDR); Function URL requests are SigV4-signed with your credentials (AWS_IAM).
loadtest compare: export AWS_EC2_METADATA_DISABLED ?= true

.PHONY: loadtest
loadtest: $(MODEL) ## One deployed way, one scenario: TARGET=ec2|ecs|lambda SCENARIO=steady|cold|step (needs AWS credentials)
	$(BIN)/python -m loadtests.aws --targets $(TARGET) --scenarios $(SCENARIO) --protocol $(PROTOCOL) $(LOADTEST_ARGS)

.PHONY: compare
compare: $(MODEL) ## All three deployed ways: cold, steady and a traffic step, and the comparison report (needs AWS credentials)
	$(BIN)/python -m loadtests.aws --protocol $(PROTOCOL) $(LOADTEST_ARGS)

# ---- infra
# AWS CDK (Python) app in infra/: one stack per way. The CLI is pinned in package.json (`npx cdk`).
# Context: ALLOWED_CIDR=203.0.113.7/32 (the ALBs admit nobody by default), ARCH=x86_64|arm64,
# LAMBDA_RESERVED_CONCURRENCY=none|10, FUNCTION_URL_AUTH=AWS_IAM|NONE (NONE: a public URL, see docs/deploy.md);
# CERTIFICATE_ARN=arn:aws:acm:... DOMAIN_NAME=api.example.com: HTTPS on the ALBs (an ISSUED ACM certificate
# in the stacks' region that covers DOMAIN_NAME; point DOMAIN_NAME at the LoadBalancerDnsName output);
# LAMBDA_COLD_START=on-demand|snapstart|provisioned with LAMBDA_PROVISIONED_CONCURRENCY=1 (docs/deploy.md);
# CDK_FLAGS=... is passed to every cdk command.
CDK := npx --no-install cdk
# The ways and their stack names have one home, infra/common/names.py (standard library only, so
# the system python3 reads it before any venv exists).
INFRA_STACKS := $(shell $(PYTHON) -m infra.common.names)
stack_names = $(shell $(PYTHON) -m infra.common.names $(1))
CDK_CONTEXT := $(if $(ALLOWED_CIDR),-c allowedIngressCidr=$(ALLOWED_CIDR)) $(if $(ARCH),-c architecture=$(ARCH)) \
	$(if $(LAMBDA_RESERVED_CONCURRENCY),-c lambdaReservedConcurrency=$(LAMBDA_RESERVED_CONCURRENCY)) \
	$(if $(FUNCTION_URL_AUTH),-c functionUrlAuth=$(FUNCTION_URL_AUTH)) \
	$(if $(CERTIFICATE_ARN),-c certificateArn=$(CERTIFICATE_ARN)) $(if $(DOMAIN_NAME),-c domainName=$(DOMAIN_NAME)) \
	$(if $(LAMBDA_COLD_START),-c lambdaColdStart=$(LAMBDA_COLD_START)) \
	$(if $(LAMBDA_PROVISIONED_CONCURRENCY),-c lambdaProvisionedConcurrency=$(LAMBDA_PROVISIONED_CONCURRENCY))
CDK_RUN := $(CDK) $(CDK_CONTEXT) $(CDK_FLAGS)
# Fail at once, in one line, when no AWS credentials or no region work (infra/common/credentials.py);
# deploys also check what the account can take (infra/common/preflight.py): the Lambda reservation
# must fit the account's concurrency, a closed ALLOWED_CIDR gets a warning (an IPv6 one is refused), a
# CERTIFICATE_ARN must be ISSUED in the stacks' region, and ECS deploys create ECS's service-linked role
# first if the account has none (a new account).
AWS_CHECK := $(BIN)/python -m infra.common.credentials
PREFLIGHT_lambda := --lambda-reserved-concurrency "$(LAMBDA_RESERVED_CONCURRENCY)" \
	--lambda-cold-start "$(LAMBDA_COLD_START)" --lambda-provisioned-concurrency "$(LAMBDA_PROVISIONED_CONCURRENCY)"
PREFLIGHT_ec2 := --allowed-cidr "$(ALLOWED_CIDR)" \
	$(if $(CERTIFICATE_ARN),--certificate-arn "$(CERTIFICATE_ARN)" --domain-name "$(DOMAIN_NAME)")
PREFLIGHT_ecs := $(PREFLIGHT_ec2) --ecs-service-linked-role
INFRA_TARGETS := synth diff bootstrap deploy-all destroy-all $(addprefix deploy-,$(INFRA_STACKS)) \
	$(addprefix destroy-,$(INFRA_STACKS)) refresh-ami gc

# No instance-metadata credential lookups unless asked for (AWS_EC2_METADATA_DISABLED=false on an
# EC2 box with a role): elsewhere they only wait on an address that is not there. No CLI telemetry.
$(INFRA_TARGETS): export AWS_EC2_METADATA_DISABLED ?= true
$(INFRA_TARGETS): export CDK_DISABLE_CLI_TELEMETRY := true

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

.PHONY: synth
synth: node_modules/.installed $(MODEL) ## Synthesize the three stacks into cdk.out (cdk-nag runs; no AWS needed)
	$(CDK_RUN) synth --quiet
	@ls cdk.out/*.template.json

.PHONY: diff
diff: node_modules/.installed $(MODEL) ## cdk diff against the deployed stacks; without credentials, against the last synth
	@if $(AWS_CHECK) --quiet; then $(CDK_RUN) diff; else \
		echo "No AWS credentials: comparing the code with cdk.out, the last 'make synth' (--template)."; \
		rm -rf .cache/cdk-next && $(CDK_RUN) synth --quiet -o .cache/cdk-next && \
		for s in $(call stack_names,$(INFRA_STACKS)); do \
			base=cdk.out/$$s.template.json; \
			test -f $$base || { base=.cache/cdk-next/empty.json; echo '{"Resources": {}}' > $$base; }; \
			$(CDK_RUN) diff --app .cache/cdk-next --template $$base $$s || exit $$?; \
		done; \
	fi

.PHONY: bootstrap
bootstrap: | $(VENV)/.installed ## cdk bootstrap the current account/region (once per account and region)
	@$(AWS_CHECK)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) bootstrap

.PHONY: $(addprefix deploy-,$(INFRA_STACKS))
deploy-ec2: ## Deploy the EC2 stack (ASG of Debian 13 instances behind an ALB)
deploy-ecs: ## Deploy the ECS stack (Fargate service behind an ALB; builds the `ecs` image)
deploy-lambda: ## Deploy the Lambda stack (image function + Function URL; builds the `lambda` image)
$(addprefix deploy-,$(INFRA_STACKS)): deploy-%: | $(VENV)/.installed
	@$(AWS_CHECK) $(PREFLIGHT_$*)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) deploy $(call stack_names,$*)

.PHONY: deploy-all
deploy-all: | $(VENV)/.installed ## Deploy all three stacks
	@$(AWS_CHECK) $(PREFLIGHT_lambda) $(PREFLIGHT_ecs)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) deploy --all

.PHONY: $(addprefix destroy-,$(INFRA_STACKS))
destroy-ec2: ## Destroy the EC2 stack (no prompt)
destroy-ecs: ## Destroy the ECS stack (no prompt)
destroy-lambda: ## Destroy the Lambda stack (no prompt)
$(addprefix destroy-,$(INFRA_STACKS)): destroy-%: | $(VENV)/.installed
	@$(AWS_CHECK)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) destroy --force $(call stack_names,$*)

.PHONY: destroy-all
destroy-all: | $(VENV)/.installed ## Destroy all three stacks (no prompt)
	@$(AWS_CHECK)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) destroy --force --all

# The EC2 stack's Debian AMI is pinned in cdk.context.json by the first synth with credentials, so a new
# Debian release rolls no instance by surprise. This forgets the pin and pins Debian's newest; deploy-ec2
# then rolls the instances onto it.
.PHONY: refresh-ami
refresh-ami: | $(VENV)/.installed ## Pin Debian's newest AMI for the EC2 stack in cdk.context.json (needs AWS credentials)
	@$(AWS_CHECK)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(BIN)/python -m infra.ec2.ami forget
	$(CDK_RUN) synth --quiet $(call stack_names,ec2)
	$(BIN)/python -m infra.ec2.ami show

# Every deploy leaves its assets (bundle zips, images) in the bootstrap bucket and repository; cdk gc
# deletes those no deployed stack uses, after asking (docs/deploy.md: what remains after destroy-all).
.PHONY: gc
gc: | $(VENV)/.installed ## Delete the CDK assets no deployed stack uses from the bootstrap bucket and repository (asks first)
	@$(AWS_CHECK)
	@$(MAKE) --no-print-directory node_modules/.installed $(MODEL)
	$(CDK_RUN) gc --unstable=gc --created-buffer-days 0

# ---- benchmarks
BENCH_ARGS ?=

.PHONY: bench
bench: $(MODEL) ## Benchmarks: the app vs its floors, a naive peer and real model servers (bench/README.md)
	$(BIN)/python -m bench $(BENCH_ARGS)

# ---- images
# One Dockerfile, two targets. Builds go through infra/local (BuildKit; this machine's pip config and CA
# bundle reach the builder stages only; BASE_IMAGE=... honoured, as CI does with its debootstrapped
# trixie). The run targets give the container the Fargate task's CPU and memory and a read-only
# root, published on 127.0.0.1 only.
LOCAL := $(BIN)/python -m infra.local
DOCKER_RUN := /usr/bin/docker run --rm --read-only --tmpfs /tmp
RIE_PORT ?= 9000

# Both architectures the stacks deploy (ARCH=x86_64|arm64): the other one builds under QEMU
# (qemu-user-static and binfmt-support, as .ci/run installs them) and is tagged one-model:ecs-arm64 etc.
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64

.PHONY: images
images: $(MODEL) | $(VENV)/.installed ## Build both images for amd64 and arm64 (IMAGE_PLATFORMS=...) and print their sizes
	$(LOCAL) build ecs lambda $(addprefix --platform ,$(IMAGE_PLATFORMS))

.PHONY: image-ecs
image-ecs: $(MODEL) | $(VENV)/.installed ## Build the ECS image (one-model:ecs)
	$(LOCAL) build ecs

.PHONY: image-lambda
image-lambda: $(MODEL) | $(VENV)/.installed ## Build the Lambda image (one-model:lambda)
	$(LOCAL) build lambda

.PHONY: run-ecs
run-ecs: image-ecs ## Run the ECS image like its Fargate task on 127.0.0.1:8000 (PORT=...; Ctrl-C stops it)
	$(DOCKER_RUN) $$($(LOCAL) limits) --publish 127.0.0.1:$(PORT):8000 one-model:ecs

.PHONY: run-lambda
run-lambda: image-lambda ## Run the Lambda image under the Runtime Interface Emulator on 127.0.0.1:9000 (RIE_PORT=...)
	@echo "invoke: curl -d @event.json http://127.0.0.1:$(RIE_PORT)/2015-03-31/functions/function/invocations"
	$(DOCKER_RUN) $$($(LOCAL) limits) --publish 127.0.0.1:$(RIE_PORT):8080 \
		--volume $$($(LOCAL) rie-path):/aws-lambda-rie:ro --entrypoint /aws-lambda-rie \
		one-model:lambda python -m awslambdaric serving.lambda_handler.handler
