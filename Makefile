# itms.cem: the two commands a user needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := dist/itms-cem-$(VERSION).tar.gz
COLLECTIONS := $(CURDIR)/build/collections
LAB_DB := $(CURDIR)/build/lab/cmdb.sqlite
LAB_COMPUTERS ?= 1000
LAB_SEED ?= 1
EE_CONTEXT := build/ee
EE_BASE_IMAGE := registry.access.redhat.com/ubi9/ubi
export PATH := $(BIN):$(PATH)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0

.PHONY: demo test venv venv-demo build install lab units sanity lint integration molecule importer ee changelog-lint mutation clean

# One .venv, two stamps: `make demo` installs only requirements-demo.txt (ansible-core and what the report over
# the lab CMDB imports); `make test` installs requirements-dev.txt, which includes it, and so stamps both.
$(BIN)/python:
	@echo "==> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: requirements-demo.txt requirements.txt | $(BIN)/python
	@echo "==> installing requirements-demo.txt"
	$(PIP) -r requirements-demo.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-demo.txt | $(BIN)/python
	@echo "==> installing requirements-dev.txt"
	$(PIP) --upgrade pip
	$(PIP) -r requirements-dev.txt
	touch $@ $(VENV)/.demo-installed

venv-demo: $(VENV)/.demo-installed

venv: $(VENV)/.installed

build: venv-demo
	@echo "==> building $(TARBALL)"
	mkdir -p dist
	$(BIN)/ansible-galaxy collection build --force --output-path dist . >/dev/null

install: build
	@echo "==> installing the collection into $(COLLECTIONS)"
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) $(TARBALL) >/dev/null

lab: venv-demo
	tests/lab/itms-lab cmdb --computers $(LAB_COMPUTERS) --seed $(LAB_SEED) --db $(LAB_DB)

demo: install lab
	@echo "==> running playbooks/report.yml against the lab CMDB"
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-playbook itms.cem.report \
	  -e itms_cmdb_url=sqlite:///$(LAB_DB) \
	  -e itms_cmdb_profile=$(CURDIR)/tests/lab/profiles/cmdb.yml \
	  -e itms_report_dir=$(CURDIR)/reports
	@$(BIN)/python -c 'import json; d = json.load(open("reports/cem-report.json")); s = d["summary"]; \
	  print("\nCEM report: %(computers)d of %(managed_computers)d managed computers (%(without_network_zone)d have no Network Zone inventory), %(cem_active)d on CEM through %(gateways)d gateways, %(lan_active)d on the LAN" % s); \
	  [print("  %-22s %s%s" % (c["title"] + ":", ", ".join("%s %d" % (x["label"], x["value"]) for x in c["data"]), \
	         "\n  %-22s %s" % ("", c["note"]) if c["id"] == "authentication_type" and c.get("note") else "")) for c in d["charts"]]; \
	  print("  files: reports/cem-report.html  reports/cem-report.json  reports/cem-report.csv")'

units: venv
	@echo "==> unit tests"
	$(BIN)/python -m pytest -q tests/unit

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

sanity: venv
	@echo "==> ansible-test sanity"
	tests/sanity.sh

lint: venv
	@echo "==> ansible-lint --profile production"
	tests/lint.sh

integration: venv
	@echo "==> integration targets against the lab"
	tests/integration.sh

molecule: venv
	@echo "==> molecule"
	tests/molecule.sh

importer: build venv
	@echo "==> galaxy-importer on $(TARBALL)"
	cd dist && $(BIN)/python -m galaxy_importer.main $(notdir $(TARBALL)) > importer.log 2>&1 || { tail -30 importer.log; exit 1; }
	@grep -E "ERROR|Importer processing completed" dist/importer.log || true
	@! grep -q "^ERROR" dist/importer.log

# The execution environment's build context (no container engine needed; `ansible-builder build` is in docs/awx.md),
# then what the image build would do with it, run here: the galaxy stage's install of requirements.yml and the
# builder stage's introspection of the installed collection's Python requirements (all of requirements.txt but
# PyYAML, which ansible-builder leaves to ansible-core).
ee: build venv
	@echo "==> ansible-builder create: execution environment build context in $(EE_CONTEXT)"
	rm -rf $(EE_CONTEXT) build/ee-check
	$(BIN)/ansible-builder create --file ee/execution-environment.yml --context $(EE_CONTEXT) --output-filename Containerfile -v1 >/dev/null
	@grep -q 'src: ../dist/$(notdir $(TARBALL))$$' ee/execution-environment.yml \
	  && grep -q 'name: collections/$(notdir $(TARBALL))$$' ee/requirements.yml \
	  || { echo "ee/execution-environment.yml and ee/requirements.yml must name $(notdir $(TARBALL)) (galaxy.yml's version)"; exit 1; }
	cmp $(TARBALL) $(EE_CONTEXT)/_build/collections/$(notdir $(TARBALL))
	cmp requirements.txt $(EE_CONTEXT)/_build/requirements.txt
	grep -q '^ARG EE_BASE_IMAGE="$(EE_BASE_IMAGE):' $(EE_CONTEXT)/Containerfile
	grep -q '^ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner' $(EE_CONTEXT)/Containerfile
	grep -q '^RUN .*ansible-galaxy collection install .*-r requirements.yml' $(EE_CONTEXT)/Containerfile
	grep -q '^RUN .*introspect.py introspect --user-pip=requirements.txt' $(EE_CONTEXT)/Containerfile
	cd $(EE_CONTEXT)/_build && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/build/ee-check $(BIN)/ansible-galaxy collection install -r requirements.yml -p $(CURDIR)/build/ee-check >/dev/null
	$(BIN)/ansible-builder introspect --sanitize build/ee-check > build/ee-check/introspect.txt
	@test -f build/ee-check/ansible_collections/itms/cem/requirements.txt \
	  || { echo "requirements.txt is not in the installed collection (README's install steps use it there)"; exit 1; }
	@! tar -tzf $(TARBALL) | grep -E '^(tests|bench|ee|extensions/molecule|changelogs/fragments)/|^(Makefile|requirements-dev.txt|requirements-demo.txt)$$' \
	  || { echo "development files in $(TARBALL): see build_ignore in galaxy.yml"; exit 1; }
	@for req in $$(sed -e 's/[ <>=#].*//' -e '/^$$/d' -e '/^PyYAML$$/d' requirements.txt); do \
	  grep -q "'$$req[<>=].*# from collection itms.cem'" build/ee-check/introspect.txt \
	    || { echo "an EE that installs itms.cem would not get $$req (meta/execution-environment.yml)"; cat build/ee-check/introspect.txt; exit 1; }; \
	done
	@echo "Containerfile: $(EE_CONTEXT)/Containerfile (base $(EE_BASE_IMAGE)); itms.cem $(VERSION) installs from the context;" \
	  "its Python requirements come from requirements.txt and from the collection's meta/execution-environment.yml"

test: units changelog-lint lint sanity integration molecule importer ee
	@echo "==> make test: all passed"

# Mutation testing of the security-critical code (the read-only SQL check, the scrubber, the runner, the no_log
# specs, the report's changed logic, the inventory's unsafe marking). Not part of `make test`: it runs the unit tests
# once per mutant (about 600), which takes a while. It fails when the read-only check or the scrubber keep a mutant.
mutation: venv
	@echo "==> mutation testing (tests/mutation/run.py)"
	$(BIN)/python tests/mutation/run.py --jobs 2

clean:
	rm -rf build dist reports tests/output .pytest_cache
