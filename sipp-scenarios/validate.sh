#!/usr/bin/env bash
# Validate the scenarios against each other on 127.0.0.1, no hotline needed:
# every UAC/UAS pair directly, the REGISTER scenarios against the registrar
# double test/registrar_uas.xml (which checks the digest with verifyauth),
# and negative controls that must FAIL (wrong password seen as 200, wrong
# Expires). With KAMAILIO=1 the call pairs also run through Kamailio as a
# record-routing proxy (/work/shared/bench/kamailio.cfg: 127.0.0.1:5070,
# user 12345 -> 127.0.0.1:5080), which exercises [routes]/rrs and the 487's
# Via set. Every sipp run is bounded by -m and -timeout.
#
#   sipp-scenarios/validate.sh              # direct pairs
#   KAMAILIO=1 sipp-scenarios/validate.sh   # + through Kamailio
#
# Env: BASE_PORT (41060: uses BASE_PORT..BASE_PORT+1), OUT (/tmp/sipp-validate)
# Exit code: number of failed checks.
set -u
S="$(cd "$(dirname "$0")" && pwd)"
BASE_PORT=${BASE_PORT:-41060}
OUT=${OUT:-/tmp/sipp-validate}
KAMAILIO=${KAMAILIO:-0}
SPORT=$BASE_PORT CPORT=$((BASE_PORT + 1))
failures=0
rm -rf "$OUT"; mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || true

udp_port_busy() { grep -q ":$(printf '%04X' "$1") " /proc/net/udp; }
for p in $SPORT $CPORT; do
	udp_port_busy "$p" && { echo "UDP port $p is in use; set BASE_PORT" >&2; exit 1; }
done

# pair NAME EXPECT UAS_PORT TARGET "uas args" "uac args"
#   EXPECT ok: both exit 0; fail: the UAC must exit non-zero
pair() {
	local name=$1 expect=$2 uport=$3 target=$4 sargs=$5 cargs=$6
	local d="$OUT/$name"
	mkdir -p "$d"
	# shellcheck disable=SC2086
	(cd "$d" && exec sipp $sargs -i 127.0.0.1 -p "$uport" -nostdin -timeout 30 -timeout_error \
		-trace_err -error_file uas.err -trace_msg -message_file uas.msg -trace_logs -log_file uas.log \
		>/dev/null 2>uas.stderr) &
	local spid=$!
	sleep 0.3
	# shellcheck disable=SC2086
	(cd "$d" && exec sipp $cargs -i 127.0.0.1 -p "$CPORT" -nostdin -timeout 30 -timeout_error \
		-trace_err -error_file uac.err -trace_msg -message_file uac.msg \
		"$target" >/dev/null 2>uac.stderr)
	local crc=$?
	local src
	if [ "$expect" = fail ]; then
		# the UAS may wait for a call that the UAC gave up: stop it (our PID)
		sleep 1
		kill -TERM "$spid" 2>/dev/null
	fi
	wait "$spid"; src=$?
	if { [ "$expect" = ok ] && [ $crc -eq 0 ] && [ $src -eq 0 ]; } ||
		{ [ "$expect" = fail ] && [ $crc -ne 0 ]; }; then
		echo "PASS $name (uac rc=$crc, uas rc=$src)"
	else
		echo "FAIL $name (uac rc=$crc, uas rc=$src; expected $expect) -> $d"
		failures=$((failures + 1))
	fi
}

direct() { pair "$1" "$2" "$SPORT" "127.0.0.1:$SPORT" "$3" "$4"; }

U1="$OUT/users-1001.csv"
printf 'SEQUENTIAL\n1001;demo1001\n' >"$U1"
REG="-sf $S/test/registrar_uas.xml -inf $U1"

direct register_auth ok "$REG -m 1" "-sf $S/register_auth.xml -s 1001 -ap demo1001 -m 1"
direct register_auth_contact ok "$REG -m 1" \
	"-sf $S/register_auth.xml -s 1001 -ap demo1001 -set contact_host 127.0.0.1 -set contact_port 5080 -m 1"
direct unregister ok "$REG -set expect_expires 0 -m 1" "-sf $S/unregister.xml -s 1001 -ap demo1001 -m 1"
direct register_bad_password ok "$REG -m 1" "-sf $S/register_bad_password.xml -s 1001 -ap not-demo1001 -m 1"
direct register_storm ok "$REG -m 200" "-sf $S/register_storm.xml -s 1001 -ap demo1001 -r 100 -m 200"
# negative controls: the double must catch these
direct neg_right_password_in_bad_password fail "$REG -m 1" "-sf $S/register_bad_password.xml -s 1001 -ap demo1001 -m 1"
direct neg_wrong_password fail "$REG -m 1" "-sf $S/register_auth.xml -s 1001 -ap wrong -m 1"
direct neg_expires_not_zero fail "$REG -set expect_expires 0 -m 1" "-sf $S/register_auth.xml -s 1001 -ap demo1001 -m 1"

direct caller_agent_uas ok "-sf $S/agent_uas.xml -d 200 -m 5" "-sf $S/caller.xml -s 12345 -d 300 -r 5 -m 5"
direct caller_wait_bye_agent_uas_bye ok "-sf $S/agent_uas_bye.xml -d 300 -m 5" "-sf $S/caller_wait_bye.xml -s 12345 -r 5 -m 5"
direct caller_cancel_agent_uas_noanswer ok "-sf $S/agent_uas_noanswer.xml -m 5" "-sf $S/caller_cancel.xml -s 12345 -d 300 -r 5 -m 5"
# a caller that hangs up first against the agent that hangs up first must not pass
direct neg_caller_wait_bye_vs_agent_uas fail "-sf $S/agent_uas.xml -m 1" "-sf $S/caller_wait_bye.xml -s 12345 -m 1 -timeout 5"

if [ "$KAMAILIO" = 1 ]; then
	for p in 5070 5080; do
		udp_port_busy "$p" && { echo "UDP port $p is in use; no Kamailio pass" >&2; exit $((failures + 1)); }
	done
	kd="$OUT/kamailio"; mkdir -p "$kd"
	kamailio -f /work/shared/bench/kamailio.cfg -DD -E -m 256 -M 16 -P "$kd/kamailio.pid" \
		>"$kd/kamailio.out" 2>"$kd/kamailio.log" &
	kpid=$!
	sleep 1
	via() { pair "kamailio_$1" "$2" 5080 127.0.0.1:5070 "$3" "$4"; }
	via caller_agent_uas ok "-sf $S/agent_uas.xml -d 200 -m 5" "-sf $S/caller.xml -s 12345 -d 300 -r 5 -m 5"
	via caller_wait_bye_agent_uas_bye ok "-sf $S/agent_uas_bye.xml -d 300 -m 5" "-sf $S/caller_wait_bye.xml -s 12345 -r 5 -m 5"
	via caller_cancel_agent_uas_noanswer ok "-sf $S/agent_uas_noanswer.xml -m 5" "-sf $S/caller_cancel.xml -s 12345 -d 300 -r 5 -m 5"
	kill -TERM "$kpid"; wait "$kpid" 2>/dev/null
fi

echo "$failures failed"
exit "$failures"
