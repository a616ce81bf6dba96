#!/usr/bin/env bash
# hotline vs Kamailio 5.6, one run, same machine, same SIPp scenarios.
#
# For each proxy under test (SUT), each point starts a fresh SUT, a SIPp
# answerer (shared scenarios/uas_rr.xml) on 127.0.0.1:5080 REGISTERED as
# agent 1001, and a SIPp caller (shared scenarios/uac_rr.xml) on 5060 that
# dials sip:1001@127.0.0.1:5070: a proxied agent-to-agent call (registrar
# lookup + record-routing stateful proxy) on both SUTs.
#   - hotline: release binary, bench/hotline-bench.toml, the answerer's
#     Contact registered with digest auth (sipp-scenarios/register_auth.xml,
#     -set contact_port 5080);
#   - Kamailio: started by shared lib.sh start_kamailio (shared kamailio.cfg,
#     no auth), the Contact registered by a REGISTER sent from port 5080
#     itself (shared scenarios/register.xml) before the answerer binds it.
# Points:
#   1. clean rate ladder (RATES, REPEATS x DURATION s), both SUTs;
#   2. REGISTER storm: hotline with digest (sipp-scenarios/register_storm.xml:
#      REGISTER / 401 / REGISTER+Authorization / 200 per "call"), Kamailio
#      unauthenticated with unique AORs (shared register.xml), REG_RATES;
#   3. overload: twice each SUT's clean rate from step 1, bench/uac_overload.xml
#      (uac_rr + ACK of a 503): completed calls/s and 503s.
# Output: $RESULTS_DIR/sip-proxy-STAMP.csv (lib.sh RESULT_HEADER columns plus
# n503 and completed), .summary.txt with medians, CPU ms per call and the
# hotline/Kamailio ratios.
#
#   bench/sip-proxy.sh
#   RATES="1000 2000" REG_RATES="1000" REPEATS=1 DURATION=5 bench/sip-proxy.sh   # quick look
#   SUTS=kamailio bench/sip-proxy.sh        # one side only (SUTS="hotline kamailio")
#
# Env: RATES, REG_RATES, REPEATS (3), DURATION (20 s), SUTS, REGISTER (1),
#      OVERLOAD (1), BUILD (1: cargo build --release -p hotline-server first),
#      HOTLINE_BIN, HOTLINE_CONF, PIN, SIPP_BUF, RUN_DIR, RESULTS_DIR, and the
#      HOTLINE_* overrides the server itself reads (e.g.
#      HOTLINE_SIP__MAX_INFLIGHT_TRANSACTIONS).
# Ports (127.0.0.1 UDP): caller 5060, REGISTER sender 5061, SUT 5070, answerer 5080.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SHARED_BENCH="${SHARED_BENCH:-/work/shared/bench}"
# shellcheck source=/dev/null
. "$SHARED_BENCH/lib.sh"

RATES="${RATES:-500 1000 2000 3000 3500 4000 4500 5000 6000 8000}"
REG_RATES="${REG_RATES:-1000 2000 4000 6000 8000 12000 16000}"
REPEATS="${REPEATS:-3}"
DURATION="${DURATION:-20}"
SUTS="${SUTS:-hotline kamailio}"
REGISTER="${REGISTER:-1}"
OVERLOAD="${OVERLOAD:-1}"
BUILD="${BUILD:-1}"
HOTLINE_BIN="${HOTLINE_BIN:-$REPO/target/release/hotline}"
HOTLINE_CONF="${HOTLINE_CONF:-$HERE/hotline-bench.toml}"
SIPP_SCEN="$REPO/sipp-scenarios"
AGENT=1001 AGENT_PW=demo1001
UAC_SCEN="-sf $SCEN_DIR/uac_rr.xml"
UAS_SCEN="-sf $SCEN_DIR/uas_rr.xml"
HEADER="$RESULT_HEADER,n503,completed"

need_pkgs
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

if [[ " $SUTS " == *" hotline "* ]]; then
	if [ "$BUILD" = 1 ]; then
		log "cargo build --release -p hotline-server"
		(cd "$REPO" && cargo build --release -p hotline-server) || { log "hotline build failed"; exit 1; }
	fi
	[ -x "$HOTLINE_BIN" ] || { log "no hotline binary at $HOTLINE_BIN"; exit 1; }
	"$HOTLINE_BIN" check --config "$HOTLINE_CONF" >/dev/null || { log "hotline rejects $HOTLINE_CONF"; exit 1; }
fi

STAMP="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS_DIR" "$RUN_DIR/$STAMP"
if [[ " $SUTS " == *" hotline "* ]]; then
	# Others build in the same target dir: run a private copy so a rebuild
	# cannot swap the binary between points.
	cp "$HOTLINE_BIN" "$RUN_DIR/$STAMP/hotline" && HOTLINE_BIN="$RUN_DIR/$STAMP/hotline"
	log "hotline at $(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet HEAD -- crates || echo ' + uncommitted changes under crates/')"
fi
CSV="$RESULTS_DIR/sip-proxy-$STAMP.csv"
SUM="$RESULTS_DIR/sip-proxy-$STAMP.summary.txt"
echo "$HEADER" >"$CSV"
log "sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1), $(kamailio -v | head -1 | sed 's/^version: //'), SUTs: $SUTS"
log "call rates: $RATES; register rates: $REG_RATES; repeats $REPEATS x ${DURATION}s -> $CSV"

# start_hotline DIR -> sets HOT_PID, SUT_PIDS (the server is one process;
# /proc/PID/stat utime+stime counts all its threads)
start_hotline() {
	local dir=$1
	need_free_ports 5070 || return 1
	(cd "$dir" && exec "${SUT_CMD[@]}" "$HOTLINE_BIN" run --config "$HOTLINE_CONF") \
		>"$dir/hotline.out" 2>"$dir/hotline.log" &
	HOT_PID=$!
	track_pid "$HOT_PID"
	wait_udp_port 5070 && kill -0 "$HOT_PID" 2>/dev/null || { log "hotline did not bind 5070"; tail -20 "$dir/hotline.log" >&2; return 1; }
	SUT_PIDS=("$HOT_PID")
}

# start_sut SUT DIR -> SUT_PID, SUT_PIDS
start_sut() {
	case $1 in
	hotline) start_hotline "$2" && SUT_PID=$HOT_PID ;;
	kamailio) start_kamailio "$2" ${KAM_ARGS:-} && SUT_PID=$KAM_PID && SUT_PIDS=("${KAM_PIDS[@]}") ;;
	esac
}

stop_sut() {
	stop_pid "$SUT_PID" 15
	forget_pid "$SUT_PID"
}

# one bounded sipp run from our shell (so cleanup() can stop it)
sipp_once() { # DIR NAME ARGS...
	local dir=$1 name=$2; shift 2
	sipp "$@" -i 127.0.0.1 -m 1 -nostdin -timeout 10 -timeout_error \
		-trace_err -error_file "$dir/$name.err.log" >"$dir/$name.out" 2>&1 &
	local p=$!
	track_pid "$p"
	wait "$p"
	local rc=$?
	forget_pid "$p"
	return $rc
}

# register_answerer SUT DIR: bind sip:1001 to 127.0.0.1:5080 (before start_uas)
register_answerer() {
	local sut=$1 dir=$2
	case $sut in
	hotline)
		sipp_once "$dir" register -sf "$SIPP_SCEN/register_auth.xml" -s "$AGENT" -ap "$AGENT_PW" \
			-set contact_host 127.0.0.1 -set contact_port 5080 -p 5061 127.0.0.1:5070
		;;
	kamailio)
		# no auth in kamailio.cfg; sent from 5080 so the Contact is the answerer's
		printf 'SEQUENTIAL\n%s\n' "$AGENT" >"$dir/agent.csv"
		sipp_once "$dir" register -sf "$SCEN_DIR/register.xml" -inf "$dir/agent.csv" -p 5080 127.0.0.1:5070
		;;
	esac || { log "$sut: registering the answerer failed (see $dir/register.*)"; return 1; }
}

# counts_of DIR COLUMN-PATTERN: sum of a -trace_counts column at the end of the run
# (the file's header names columns like "8_503_Recv"; last line = totals)
count_col() {
	local f=$1 pat=$2
	[ -s "$f" ] || { echo 0; return; }
	awk -F';' -v pat="$pat" 'NR==1 {for (i=1;i<=NF;i++) if ($i ~ pat) c[i]=1; next}
		{last=$0} END {n=split(last, v, ";"); s=0; for (i in c) s+=v[i]; print s+0}' "$f"
}

# point TEST SUT RATE REP KIND -> ROW
#   KIND call: uac_rr.xml; overload: uac_overload.xml (+503 counts)
point() {
	local test=$1 sut=$2 rate=$3 rep=$4 kind=$5
	local calls=$((rate * DURATION))
	local dir="$RUN_DIR/$STAMP/$test/r$rate-$rep"
	rm -rf "$dir"; mkdir -p "$dir"
	need_free_ports 5060 5061 5080 || return 1
	start_sut "$sut" "$dir" || return 1
	register_answerer "$sut" "$dir" || return 1
	start_uas "$UAS_SCEN" 5080 "$dir" || return 1
	local scen=$UAC_SCEN extra=()
	if [ "$kind" = overload ]; then
		scen="-sf $HERE/uac_overload.xml"
		extra=(-trace_counts)
	fi
	local u0 s0 e0 u1 s1 e1 c0
	u0=$(ticks "$UAS_PID"); s0=$(ticks "${SUT_PIDS[@]}"); e0=$(udp_rcvbuf_errors); c0=$(head -1 /proc/stat)
	# shellcheck disable=SC2086
	run_uac uac "$rate" "$calls" "$dir" $scen "${extra[@]}" -s "$AGENT" 127.0.0.1:5070 -p 5060 || return 1
	u1=$(ticks "$UAS_PID"); s1=$(ticks "${SUT_PIDS[@]}"); e1=$(udp_rcvbuf_errors)
	sys_cpu "$c0" "$(head -1 /proc/stat)" >"$dir/proc-stat-cpu.txt"
	local nice_pct
	nice_pct=$(grep -o 'nice=[0-9.]*' "$dir/proc-stat-cpu.txt" | cut -d= -f2)
	ps -o pid,nlwp,pcpu,rss,args -p "$(IFS=,; echo "${SUT_PIDS[*]}")" >"$dir/sut.procs" 2>/dev/null
	stop_sut
	stop_pid "$UAS_PID" 10; forget_pid "$UAS_PID"
	local rc wall cpu succ fail retr crate p50 p90 p99 p999 pmax
	read -r rc wall cpu succ fail retr crate p50 p90 p99 p999 pmax <<<"$RES"
	local uas_cpu sut_cpu n503=NA completed=$succ
	uas_cpu=$(echo "scale=1; ($u1-$u0)*100/$HZ/$wall" | bc)
	sut_cpu=$(echo "scale=1; ($s1-$s0)*100/$HZ/$wall" | bc)
	if [ "$kind" = overload ]; then
		local cf
		cf=$(ls "$dir"/*_counts.csv 2>/dev/null | head -1)
		n503=$(count_col "$cf" '_503_Recv$')
		# completed = 200 OK to the BYE (the last 200 recv of the scenario)
		completed=$(awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i ~ /_200_Recv$/) last200=i; next}
			{l=$0} END {split(l, v, ";"); print v[last200]+0}' "$cf" 2>/dev/null)
		crate=$(echo "scale=1; ${completed:-0}/$wall" | bc)
	fi
	ROW="$(date +%s),$test,$rate,$rep,$calls,$rc,$wall,$succ,$fail,$retr,$crate,$cpu,$uas_cpu,$sut_cpu,$((e1 - e0)),$p50,$p90,$p99,$p999,$pmax,${nice_pct:-NA},$n503,$completed"
}

# reg_point TEST SUT RATE REP -> ROW
reg_point() {
	local test=$1 sut=$2 rate=$3 rep=$4
	local calls=$((rate * DURATION))
	local dir="$RUN_DIR/$STAMP/$test/r$rate-$rep"
	rm -rf "$dir"; mkdir -p "$dir"
	start_sut "$sut" "$dir" || return 1
	local args
	if [ "$sut" = hotline ]; then
		args=(-sf "$SIPP_SCEN/register_storm.xml" -s "$AGENT" -ap "$AGENT_PW")
	else
		{ echo SEQUENTIAL; seq 1000000 $((1000000 + calls - 1)); } >"$dir/users.csv"
		args=(-sf "$SCEN_DIR/register.xml" -inf "$dir/users.csv")
	fi
	local s0 e0 s1 e1 c0 nice_pct
	s0=$(ticks "${SUT_PIDS[@]}"); e0=$(udp_rcvbuf_errors); c0=$(head -1 /proc/stat)
	run_uac uac "$rate" "$calls" "$dir" "${args[@]}" 127.0.0.1:5070 -p 5061 || return 1
	s1=$(ticks "${SUT_PIDS[@]}"); e1=$(udp_rcvbuf_errors)
	sys_cpu "$c0" "$(head -1 /proc/stat)" >"$dir/proc-stat-cpu.txt"
	nice_pct=$(grep -o 'nice=[0-9.]*' "$dir/proc-stat-cpu.txt" | cut -d= -f2)
	stop_sut
	local rc wall cpu succ fail retr crate p50 p90 p99 p999 pmax sut_cpu
	read -r rc wall cpu succ fail retr crate p50 p90 p99 p999 pmax <<<"$RES"
	sut_cpu=$(echo "scale=1; ($s1-$s0)*100/$HZ/$wall" | bc)
	ROW="$(date +%s),$test,$rate,$rep,$calls,$rc,$wall,$succ,$fail,$retr,$crate,$cpu,NA,$sut_cpu,$((e1 - e0)),$p50,$p90,$p99,$p999,$pmax,${nice_pct:-NA},NA,$succ"
}

# ladder TEST SUT KIND RATES...: REPEATS per rate; stop once a rate failed in every repeat
ladder() {
	local test=$1 sut=$2 kind=$3 rate rep; shift 3
	for rate in "$@"; do
		for ((rep = 1; rep <= REPEATS; rep++)); do
			if [ "$kind" = register ]; then
				reg_point "$test" "$sut" "$rate" "$rep"
			else
				point "$test" "$sut" "$rate" "$rep" "$kind"
			fi || { log "point $test $rate/$rep failed to start"; cleanup; continue; }
			echo "$ROW" >>"$CSV"
			log "$ROW"
		done
		[ "$kind" = overload ] && continue
		if [ "$(awk -F',' -v t="$test" -v r="$rate" 'NR>1 && $2==t && $3==r && ($9==0 && $6==0)' "$CSV" | wc -l)" = 0 ]; then
			log "$test: every repeat at $rate/s failed; stopping the ramp"
			break
		fi
	done
}

for sut in $SUTS; do
	# shellcheck disable=SC2086
	ladder "$sut-call" "$sut" call $RATES
done
if [ "$REGISTER" = 1 ]; then
	for sut in $SUTS; do
		# shellcheck disable=SC2086
		ladder "$sut-register" "$sut" register $REG_RATES
	done
fi
if [ "$OVERLOAD" = 1 ]; then
	for sut in $SUTS; do
		clean=$(max_clean_rate "$CSV" "$sut-call")
		if [ "${clean:-0}" -gt 0 ]; then
			ladder "$sut-overload" "$sut" overload $((2 * clean))
		else
			log "$sut: no clean call rate, no overload point"
		fi
	done
fi

# ---- summary ----
# med TEST RATE COL: median of a column over the repeats of one point
med() { awk -F',' -v t="$1" -v r="$2" 'NR>1 && $2==t && $3==r {print $'"$3"'}' "$CSV" | grep -v NA | median; }
# cpu ms per call (or per REGISTER pair) = SUT CPU% * 10 / achieved rate
cpu_ms() {
	local c a
	c=$(med "$1" "$2" 14); a=$(med "$1" "$2" 11)
	if [ "$c" = NA ] || [ "$a" = NA ] || [ "$(echo "$a <= 0" | bc)" = 1 ]; then echo NA; return; fi
	echo "scale=3; $c * 10 / $a" | bc | sed 's/^\./0./'
}
ratio() { # A B -> A/B with 2 decimals, NA when either is missing or B is 0
	if [ "$1" = NA ] || [ "$2" = NA ] || [ -z "$1" ] || [ -z "$2" ] || [ "$(echo "$2 == 0" | bc)" = 1 ]; then echo NA; return; fi
	echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'
}
{
	summarize "$CSV"
	echo
	echo "CPU per call (ms, SUT only, median over repeats) at each rate:"
	for t in $(awk -F',' 'NR>1 {print $2}' "$CSV" | sort -u); do
		printf '  %-20s' "$t"
		for r in $(awk -F',' -v t="$t" 'NR>1 && $2==t {print $3}' "$CSV" | sort -n -u); do
			printf ' %s:%s' "$r" "$(cpu_ms "$t" "$r")"
		done
		echo
	done
	for t in $(awk -F',' 'NR>1 && $2 ~ /-overload$/ {print $2}' "$CSV" | sort -u); do
		r=$(awk -F',' -v t="$t" 'NR>1 && $2==t {print $3; exit}' "$CSV")
		echo "OVERLOAD $t target=$r/s: completed calls/s (med) $(med "$t" "$r" 11), 503s (med) $(med "$t" "$r" 22), failed (med) $(med "$t" "$r" 9), SUT cpu% $(med "$t" "$r" 14)"
	done
	# a SUT left out of SUTS (or a ladder not run) is NA, not 0
	best() { if grep -q ",$1," "$CSV"; then max_clean_rate "$CSV" "$1"; else echo NA; fi; }
	hc=$(best hotline-call) kc=$(best kamailio-call)
	hr=$(best hotline-register) kr=$(best kamailio-register)
	# CPU/call compared at the highest rate clean for both
	common=0
	if [ "$hc" != NA ] && [ "$kc" != NA ]; then common=$(( hc < kc ? hc : kc )); fi
	hcpu=NA kcpu=NA
	if [ "$common" -gt 0 ]; then hcpu=$(cpu_ms hotline-call "$common"); kcpu=$(cpu_ms kamailio-call "$common"); fi
	echo "SUMMARY calls (agent dialled, proxied, 0 failed in all ${REPEATS} repeats, median >= 95% of target): hotline ${hc} cps, kamailio ${kc} cps, hotline/kamailio $(ratio "$hc" "$kc")"
	echo "SUMMARY CPU per call at ${common} cps: hotline ${hcpu} ms, kamailio ${kcpu} ms, hotline/kamailio $(ratio "$hcpu" "$kcpu")"
	echo "SUMMARY REGISTER: hotline ${hr}/s digest-authenticated pairs (REGISTER+401+REGISTER+200), kamailio ${kr}/s unauthenticated single REGISTERs; ratio $(ratio "$hr" "$kr") (not like for like, see bench/README.md)"
	echo "raw: ${CSV##*/}, per-run files: $RUN_DIR/$STAMP"
} | tee "$SUM"
