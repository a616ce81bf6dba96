#!/usr/bin/env bash
# Calls held in the IVR with audio both ways (issue 3's speed target): CALLS concurrent SIPp
# citizens on 127.0.0.1 each stream 50 RTP packets/s (rtp_stream of a u-law tone) while the
# hotline plays them its prompts and music on hold (bench/dialplans/bench.toml), 50 packets/s.
#
# Per repeat: a fresh release hotline (bench/ivr-bench.toml), SIPp ramps up at RATE calls/s
# to CALLS, every call lasts HOLD s; once all calls are up a WINDOW-second steady window is
# measured:
#   - hotline CPU (utime+stime from /proc, % of one core and per call), SIPp CPU beside it;
#   - hotline RSS before the calls and in the window (memory per call);
#   - RTP packets sent and received per second by the hotline (its /metrics counters) against
#     the 50 x CALLS expected each way;
#   - packets sent more than 5 ms after they were due (the media task compares each packet's
#     due time with when the send returned) and the worst lateness of the whole run;
#   - datagrams the kernel dropped at the hotline's RTP sockets during the window (the drops
#     column of /proc/net/udp for local ports 20000-29999): RTP from the callers that never
#     reached the media tasks. (SIPp's rtp_stream never reads its sockets, so the machine-wide
#     RcvbufErrors counts every packet we send it and says nothing about us.)
# Output: RESULTS_DIR/ivr-media-STAMP.csv, one row per repeat, and .summary.txt with medians.
#
#   bench/ivr-media.sh                         # 1,000 calls, 3 repeats
#   CALLS=200 REPEATS=1 HOLD=40 bench/ivr-media.sh   # quick look
#
# Env: CALLS (1000), RATE (50 calls/s), HOLD (75 s per call), WINDOW (30 s), REPEATS (3),
#      BUILD (1: cargo build --release first), HOTLINE_BIN, RUN_DIR, RESULTS_DIR,
#      PIN (0; 1: SIPp on CPU 0 and the hotline on CPU 1, so they do not preempt each other),
#      NICE (0; e.g. -10: the hotline's nice value, as Asterisk's -p / FreeSWITCH's -hp do).
# Ports (127.0.0.1 UDP): SIPp 5062 and media from 40000 up, hotline SIP 5070, HTTP 18090,
# RTP 20000-29999.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CALLS="${CALLS:-1000}"
RATE="${RATE:-50}"
HOLD="${HOLD:-75}"
WINDOW="${WINDOW:-30}"
REPEATS="${REPEATS:-3}"
BUILD="${BUILD:-1}"
HOTLINE_BIN="${HOTLINE_BIN:-$REPO/target/release/hotline}"
RUN_DIR="${RUN_DIR:-/tmp/ivrbench}"
RESULTS_DIR="${RESULTS_DIR:-$RUN_DIR/results}"
HZ="$(getconf CLK_TCK)"
NCPU="$(nproc)"
mkdir -p "$RUN_DIR" "$RESULTS_DIR"
ulimit -n 65536 2>/dev/null || true

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
for tool in sipp sox curl bc; do
	command -v "$tool" >/dev/null || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester sox curl bc >/dev/null
		break
	}
done
if [ "$BUILD" = 1 ]; then
	(cd "$REPO" && cargo build --release -p hotline-server) >&2
fi

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}
trap 'cleanup; exit 130' INT TERM

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://127.0.0.1:18090/metrics" | awk -v m="hotline_media_$1" '$1 == m {print $2}'; }
# Kernel drops at the hotline's RTP sockets (local port 20000-29999 on 127.0.0.1).
rtp_socket_drops() {
	awk 'NR > 1 { split($2, a, ":"); p = strtonum("0x" a[2]); if (p >= 20000 && p <= 29999) d += $NF } END { print d + 0 }' /proc/net/udp
}

PIN="${PIN:-0}"
NICE="${NICE:-0}"
SUT_CMD=(nice -n "$NICE")
GEN_CMD=()
if [ "$PIN" = 1 ]; then
	SUT_CMD=(taskset -c 1 nice -n "$NICE")
	GEN_CMD=(taskset -c 0)
fi

STAMP="$(date +%Y%m%d-%H%M%S)"
CSV="$RESULTS_DIR/ivr-media-$STAMP.csv"
echo "repeat,calls,window_s,hotline_cpu_pct_core,cpu_pct_core_per_call,sipp_cpu_pct_core,rss_base_mib,rss_mib,kib_per_call,sent_pps,recv_pps,expected_pps,late_5ms_window,max_late_ms_run,rtp_socket_drops_window,failed_calls" >"$CSV"

for rep in $(seq 1 "$REPEATS"); do
	dir="$RUN_DIR/run-$STAMP-$rep"
	mkdir -p "$dir"
	cp -r "$HERE/dialplans" "$dir/"
	sed "s|../config/hotlines.toml|$REPO/config/hotlines.toml|" "$HERE/ivr-bench.toml" >"$dir/hotline.toml"
	sox -n -r 8000 -c 1 -e u-law "$dir/tone-ulaw.wav" synth 10 sine 440 gain -10
	log "repeat $rep: starting hotline"
	# HOTLINE_* variables are config overrides for the server: not ours to pass on.
	(cd "$dir" && exec env -u HOTLINE_BIN "${SUT_CMD[@]}" "$HOTLINE_BIN" run --config hotline.toml >hotline.out 2>hotline.log) &
	HL=$!
	PIDS+=("$HL")
	for _ in $(seq 1 50); do grep -q "hotline ready" "$dir/hotline.out" 2>/dev/null && break; sleep 0.2; done
	sleep 1
	rss0="$(rss_kb "$HL")"
	log "repeat $rep: $CALLS calls at $RATE/s, $HOLD s each"
	(cd "$dir" && exec "${GEN_CMD[@]}" sipp -sf "$REPO/sipp-scenarios/ivr_load.xml" -s 12345 -d "$((HOLD * 1000))" \
		-r "$RATE" -l "$CALLS" -m "$CALLS" -mp 40000 -i 127.0.0.1 -p 5062 127.0.0.1:5070 \
		-timeout "$((HOLD + CALLS / RATE + 60))" -nostdin -trace_stat -stf sipp.csv >sipp.out 2>&1) &
	SIPP=$!
	PIDS+=("$SIPP")
	# All calls up, plus 5 s to settle.
	sleep "$((CALLS / RATE + 5))"
	t0="$(date +%s.%N)"; h0="$(ticks "$HL")"; s0="$(ticks "$SIPP")"
	tx0="$(metric packets_sent)"; rx0="$(metric packets_received)"; late0="$(metric sent_late_5ms)"
	d0="$(rtp_socket_drops)"; active="$(metric calls_active)"
	sleep "$((WINDOW / 2))"
	rss="$(rss_kb "$HL")"
	sleep "$((WINDOW - WINDOW / 2))"
	t1="$(date +%s.%N)"; h1="$(ticks "$HL")"; s1="$(ticks "$SIPP")"
	tx1="$(metric packets_sent)"; rx1="$(metric packets_received)"; late1="$(metric sent_late_5ms)"
	d1="$(rtp_socket_drops)"
	log "repeat $rep: window done ($active calls active at its start); waiting for the calls to end"
	# SIPp 3.6.1 sometimes hangs after its last call when rtp_stream was used (every call done,
	# stats no longer written): after the calls' time plus a minute, SIGINT makes it print its
	# statistics and exit.
	for _ in $(seq 1 "$((HOLD + 60))"); do kill -0 "$SIPP" 2>/dev/null || break; sleep 1; done
	kill -INT "$SIPP" 2>/dev/null || true
	wait "$SIPP" || true
	maxlate="$(metric max_lateness_us)"
	curl -s "http://127.0.0.1:18090/metrics" | grep '^hotline_media_send_lateness' >"$dir/lateness.txt" || true
	failed="$(awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i=="FailedCall(C)") c=i; next} END {print $c+0}' "$dir/sipp.csv" 2>/dev/null || echo "?")"
	cleanup
	dt="$(echo "$t1 - $t0" | bc -l)"
	cpu="$(echo "($h1 - $h0) / $HZ / $dt * 100" | bc -l)"
	scpu="$(echo "($s1 - $s0) / $HZ / $dt * 100" | bc -l)"
	row="$(printf '%d,%d,%.1f,%.1f,%.3f,%.1f,%.1f,%.1f,%.1f,%.0f,%.0f,%d,%d,%.2f,%d,%s' \
		"$rep" "$active" "$dt" "$cpu" "$(echo "$cpu / $active" | bc -l)" "$scpu" \
		"$(echo "$rss0 / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
		"$(echo "($rss - $rss0) / $active" | bc -l)" \
		"$(echo "($tx1 - $tx0) / $dt" | bc -l)" "$(echo "($rx1 - $rx0) / $dt" | bc -l)" \
		"$((active * 50))" "$((late1 - late0))" "$(echo "$maxlate / 1000" | bc -l)" \
		"$((d1 - d0))" "$failed")"
	echo "$row" >>"$CSV"
	log "repeat $rep: $row"
done

SUMMARY="${CSV%.csv}.summary.txt"
{
	echo "bench/ivr-media.sh $STAMP: CALLS=$CALLS RATE=$RATE HOLD=$HOLD WINDOW=$WINDOW REPEATS=$REPEATS PIN=$PIN NICE=$NICE on $NCPU cores"
	echo "medians over the repeats (columns of $(basename "$CSV")):"
	for col in 4 5 6 8 9 10 11 12 13 14 15 16; do
		name="$(head -1 "$CSV" | cut -d, -f"$col")"
		med="$(tail -n +2 "$CSV" | cut -d, -f"$col" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
		echo "  $name: $med"
	done
	cpu="$(tail -n +2 "$CSV" | cut -d, -f4 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
	echo "  hotline CPU as a share of the machine: $(echo "$cpu / $NCPU" | bc -l | cut -c1-5) % (target: under 50 %)"
} | tee "$SUMMARY"
