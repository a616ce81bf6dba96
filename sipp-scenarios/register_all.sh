#!/usr/bin/env bash
# Register every user of a SIPp-style users file (first line SEQUENTIAL, then
# "user;password" per line) with register_auth.xml, one bounded sipp run per
# user, because SIPp 3.6.1 cannot nest [field] inside [authentication].
#   ./register_all.sh register_users.csv 127.0.0.1:5070 [extra sipp args...]
# Extra args go to every run (e.g. -set contact_port 5080 -p 5061).
# Exit code: 0 when every user got 200, else the number of failures.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
users=$1 target=$2
shift 2
fail=0
while IFS=';' read -r user pass _; do
	case "$user" in '' | SEQUENTIAL | RANDOM | USER | '#'*) continue ;; esac
	if sipp -sf "$here/register_auth.xml" -s "$user" -ap "$pass" -m 1 -timeout 10 -timeout_error \
		-nostdin -i 127.0.0.1 "$@" "$target" >/dev/null 2>&1; then
		echo "registered $user"
	else
		echo "FAILED $user" >&2
		fail=$((fail + 1))
	fi
done <"$users"
exit "$fail"
