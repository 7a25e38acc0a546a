# itms.cem: the two commands a user needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := dist/itms-cem-$(VERSION).tar.gz
COLLECTIONS := $(CURDIR)/build/collections
LAB_DB := $(CURDIR)/build/lab/cmdb.sqlite
LAB_COMPUTERS ?= 1000
LAB_SEED ?= 1
export PATH := $(BIN):$(PATH)
export ANSIBLE_NOCOLOR := 1
export ANSIBLE_FORCE_COLOR := 0

.PHONY: demo test venv build install lab units sanity lint integration molecule importer changelog-lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "==> creating $(VENV) and installing requirements"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build: venv
	@echo "==> building $(TARBALL)"
	mkdir -p dist
	$(BIN)/ansible-galaxy collection build --force --output-path dist . >/dev/null

install: build
	@echo "==> installing the collection into $(COLLECTIONS)"
	$(BIN)/ansible-galaxy collection install --force -p $(COLLECTIONS) $(TARBALL) >/dev/null

lab: venv
	tests/lab/itms-lab cmdb --computers $(LAB_COMPUTERS) --seed $(LAB_SEED) --db $(LAB_DB)

demo: install lab
	@echo "==> running playbooks/report.yml against the lab CMDB"
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(BIN)/ansible-playbook itms.cem.report \
	  -e itms_cmdb_url=sqlite:///$(LAB_DB) \
	  -e itms_cmdb_profile=$(CURDIR)/tests/lab/profiles/cmdb.yml \
	  -e itms_report_dir=$(CURDIR)/reports
	@$(BIN)/python -c 'import json; d = json.load(open("reports/cem-report.json")); s = d["summary"]; \
	  print("\nCEM report: %(computers)d managed computers, %(cem_active)d on CEM through %(gateways)d gateways, %(lan_active)d on the LAN" % s); \
	  [print("  %-22s %s" % (c["title"] + ":", ", ".join("%s %d" % (x["label"], x["value"]) for x in c["data"]))) for c in d["charts"]]; \
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

importer: build
	@echo "==> galaxy-importer on $(TARBALL)"
	cd dist && $(BIN)/python -m galaxy_importer.main $(notdir $(TARBALL)) > importer.log 2>&1 || { tail -30 importer.log; exit 1; }
	@grep -E "ERROR|Importer processing completed" dist/importer.log || true
	@! grep -q "^ERROR" dist/importer.log

test: units changelog-lint lint sanity integration molecule importer
	@echo "==> make test: all passed"

clean:
	rm -rf build dist reports tests/output .pytest_cache
