#!/usr/bin/env bash
# The one test command (README): installs what the tests need on a fresh Debian machine, makes sure
# PostgreSQL runs, builds the server, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v baresip >/dev/null || need+=(baresip)
# dumpcap (Wireshark's capture tool, in the tshark package) records the RTP the IVR sends.
command -v dumpcap >/dev/null || need+=(tshark)
# sox checks the committed prompts' format (scripts/make-prompts.sh --check).
command -v sox >/dev/null || need+=(sox)
# Headless Chromium and its WebDriver for the desktop's browser tests, and CJK fonts so the
# screenshots they save show the Chinese.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL for the store's conformance suite (SQLite needs nothing).
export TEST_PG_URL="${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
	echo "test.sh: starting PostgreSQL"
	ver=$(ls /etc/postgresql | sort -V | tail -1)
	pg_ctlcluster --skip-systemctl-redirect "$ver" main start
	for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
# Trust auth on loopback is how this kind of machine ships; a fresh cluster may ask for a password.
if ! psql "$TEST_PG_URL" -Atc 'select 1' >/dev/null 2>&1; then
	echo "test.sh: cannot log in to $TEST_PG_URL; allowing local trust auth"
	hba=$(su postgres -c "psql -Atc 'show hba_file'")
	sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
	su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
fi

# The committed prompts: every catalog entry has an 8 kHz mono 16-bit WAV, no stale files.
scripts/make-prompts.sh --check

cargo build -p hotline-server
cargo test --workspace --no-fail-fast "$@"
