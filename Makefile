# The two commands: `make run` and `make test`. Both install what is missing first.
SWIFT ?= swift
# One build configuration for build and test, so SwiftPM does not re-plan between them.
SWIFT_BUILD_FLAGS ?=

# Seconds of fuzzing per connector: short inside `make test`, longer with `make fuzz`.
TEST_FUZZ_SECONDS ?= 15
FUZZ_SECONDS ?= 300

.PHONY: run test fuzz schemathesis deps build release bench clean

deps:
	@bash Deploy/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

## Build, start on the embedded database, create a demo tenant, print its key and a curl line.
run: build
	SWITCHBOARD_ADMIN_TOKEN=$${SWITCHBOARD_ADMIN_TOKEN:-demo-admin-token} $(SWIFT) run $(SWIFT_BUILD_FLAGS) switchboard demo

## The whole test suite, against a real PostgreSQL (DATABASE_URL, or an embedded cluster),
## then schemathesis against the built server's OpenAPI document (README, "The OpenAPI
## document and schemathesis"), then a bounded fuzz run of every connector (its own
## build, in .build-fuzz).
test: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	SWIFT=$(SWIFT) bash Deploy/test.sh $(SWIFT_BUILD_FLAGS)
	SWIFT=$(SWIFT) SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" bash Deploy/schemathesis.sh
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) bash Deploy/fuzz.sh

## schemathesis alone, against the built server (SCHEMATHESIS_EXAMPLES for a longer run).
schemathesis: build
	SWIFT=$(SWIFT) SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" bash Deploy/schemathesis.sh

## Fuzz every connector's verify + parse for FUZZ_SECONDS each (see README, "Fuzzing").
fuzz:
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) bash Deploy/fuzz.sh

release: deps
	$(SWIFT) build -c release

## Benchmarks on a release build; see Benchmarks/README.md.
bench: release
	bash Benchmarks/run.sh

clean:
	rm -rf .build .build-fuzz
