# The two commands a newcomer needs are `make run` and `make test`; both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MMP := $(VENV)/bin/mmp
STAGE ?= dev

.PHONY: run test bench lint synth install clean

$(STAMP): requirements.txt requirements-dev.txt requirements-infra.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-infra.txt
	touch $(STAMP)

# `mmp`, the local tools (chalicelib/local/cli.py); -P: this checkout's code, whatever the cwd
$(MMP): Makefile $(STAMP)
	printf '#!/bin/sh\n# mmp: the local tools (chalicelib/local/cli.py), run from this checkout\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s" -P -m chalicelib.local.cli "$$@"\n' \
	  "$(CURDIR)" "$(CURDIR)/$(PY)" > $@
	chmod +x $@

install: $(STAMP) $(MMP)

run: $(STAMP) $(MMP)
	$(PY) -m chalicelib.local

test: $(STAMP) $(MMP)
	$(PY) -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m bench

synth: $(STAMP)
	CDK_CONTEXT_JSON='{"stage":"$(STAGE)"}' CDK_OUTDIR=infra/cdk.out \
	  AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) -m infra.app
	@echo "template: infra/cdk.out/mmp-$(STAGE).template.json"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .local .pytest_cache
