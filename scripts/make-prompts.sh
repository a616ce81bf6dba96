#!/usr/bin/env bash
# Makes the IVR prompts: every [prompt.<name>] of dialplans/prompts/zh/prompts.toml
# becomes dialplans/prompts/zh/<name>.wav, 8000 Hz mono 16-bit signed PCM: the
# telephone's rate (G.711 is 8 kHz mono), so playing one needs no resampling.
#
#   scripts/make-prompts.sh           make (or remake) every WAV; unchanged ones stay
#                                     byte for byte as they were, so rerunning is a no-op
#   scripts/make-prompts.sh --check   verify only: every entry has a WAV of the right
#                                     format that is not silent, and no WAV lacks an entry.
#                                     Needs sox and python3, not espeak-ng. Exit 1 on a problem.
#
# The WAVs are committed, so a hotline machine never needs espeak-ng. Speech is
# espeak-ng's Mandarin (robotic but clear on a phone line); to replace a prompt
# with a recorded voice see dialplans/prompts/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=dialplans/prompts/zh
CATALOG=$DIR/prompts.toml
# The guidance-only lines' sentences live in the hotline list; the guidance-<number>
# prompts take their text from there (the same file the server compiles in).
HOTLINES=config/hotlines.toml

# Voice: espeak-ng 1.51 (Debian 12) has a broken `cmn`: its dictionary turns each
# character into pinyin with a tone digit and `cmn` then reads that Latin text as
# English ("好" comes out "hao two"; espeak-ng issue #1236). `cmn-latn-pinyin` is
# the same Mandarin voice reading that pinyin as pinyin, which is what we want
# (the catalog holds no Latin text that should be English).
VOICE=cmn-latn-pinyin
# Speed in words per minute (espeak's default is 175). 180 keeps the longest
# catalog sentences (guidance lines) near 8 s while each syllable stays distinct;
# slower made the menu and guidance prompts 10-12 s long.
SPEED=180
PITCH=50
# Peak level of speech: -3 dBFS leaves headroom for the G.711 encoder and any
# resampling downstream, while keeping prompts as loud as each other.
PEAK_DB=-3
# Music on hold: RMS -22 dBFS, the level of the speech prompts (their RMS comes out
# at -21 to -23 dBFS with peaks at -3), so hold music is never louder than speech.
MOH_RMS_DB=-22

mode=make
case "${1:-}" in
	"") ;;
	--check) mode=check ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "make-prompts.sh: unknown argument $1 (use --check)" >&2; exit 2 ;;
esac

# Tools. sox (with soxi) is needed for both modes; espeak-ng only to make speech.
need=()
command -v sox >/dev/null && command -v soxi >/dev/null || need+=(sox)
[ "$mode" = check ] || command -v espeak-ng >/dev/null || need+=(espeak-ng)
if [ ${#need[@]} -gt 0 ]; then
	echo "make-prompts.sh: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v python3 >/dev/null || { echo "make-prompts.sh: python3 (3.11+, for tomllib) is needed" >&2; exit 1; }

# The plan: one line per prompt, "name<TAB>kind<TAB>text to speak", from the
# catalog and the hotline list. Python's tomllib reads TOML properly (no grep
# parsing), and the checks that keep both files consistent live here, so both
# modes refuse an inconsistent catalog.
plan() {
	python3 - "$CATALOG" "$HOTLINES" <<-'EOF'
	import re, sys, tomllib

	catalog_path, hotlines_path = sys.argv[1], sys.argv[2]
	with open(catalog_path, "rb") as f:
	    catalog = tomllib.load(f)
	with open(hotlines_path, "rb") as f:
	    hotlines = tomllib.load(f)

	errors = []
	guidance = {}  # number -> sentence of its guidance-only line
	for line in hotlines.get("line", []):
	    if line.get("mode") == "guidance-only":
	        for number in line.get("numbers", []):
	            guidance[number] = line.get("guidance", "")

	# Telephone numbers are read digit by digit, 1 as 幺 (espeak would say 12345
	# as a cardinal, 一万两千三百四十五). Runs of 1-2 digits stay numbers: 按1, 10点.
	PHONE_DIGITS = dict(zip("0123456789", "零幺二三四五六七八九"))
	def speakable(text):
	    text = re.sub(r"[0-9]{3,}", lambda m: "".join(PHONE_DIGITS[d] for d in m.group()), text)
	    for word, pinyin in catalog.get("pronounce", {}).items():
	        text = text.replace(word, pinyin)
	    return text

	TONES = {"moh"}  # names the script has a music recipe for
	prompts = catalog.get("prompt", {})
	if not prompts:
	    errors.append(f"{catalog_path}: no [prompt.<name>] entries")
	out = []
	for name, entry in prompts.items():
	    where = f"{catalog_path}: [prompt.{name}]"
	    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
	        errors.append(f"{where}: a name is lowercase letters, digits, - and _ (it is a file name)")
	        continue
	    unknown = set(entry) - {"text", "kind", "source"}
	    if unknown:
	        errors.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
	    kind = entry.get("kind", "tts")
	    if kind == "tone":
	        if name not in TONES:
	            errors.append(f"{where}: kind = \"tone\" but the script has no recipe for {name} (has: {', '.join(sorted(TONES))})")
	        out.append((name, kind, ""))
	        continue
	    if kind != "tts":
	        errors.append(f"{where}: kind is \"tts\" or \"tone\", not {kind!r}")
	        continue
	    if "source" in entry:
	        number = name.removeprefix("guidance-")
	        if entry["source"] != "hotlines" or not name.startswith("guidance-"):
	            errors.append(f"{where}: source = \"hotlines\" is for guidance-<number> entries only")
	            continue
	        if "text" in entry:
	            errors.append(f"{where}: has both text and source; the text comes from {hotlines_path}")
	            continue
	        if number not in guidance:
	            errors.append(f"{where}: {number} is not a number of a guidance-only line of {hotlines_path}")
	            continue
	        text = guidance[number]
	        if not text.strip():
	            errors.append(f"{where}: the guidance-only line of {number} in {hotlines_path} has no guidance")
	            continue
	    else:
	        text = entry.get("text", "")
	        if not text.strip():
	            errors.append(f"{where}: no text")
	            continue
	    if re.search(r"[\t\n\r]", text) or re.search(r"[A-Za-z]", text):
	        # Tabs/newlines would break the plan; Latin letters would be read as pinyin.
	        errors.append(f"{where}: text has a tab, a line break or Latin letters: {text!r}")
	        continue
	    out.append((name, kind, speakable(text)))
	for number in guidance:
	    if f"guidance-{number}" not in prompts:
	        errors.append(f"{catalog_path}: guidance-only number {number} of {hotlines_path} has no [prompt.guidance-{number}] entry (source = \"hotlines\")")
	if errors:
	    print("\n".join(errors), file=sys.stderr)
	    sys.exit(1)
	for row in out:
	    print("\t".join(row))
	EOF
}

# RMS amplitude (0..1) of a file, from sox's stat.
rms() { sox "$1" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}'; }

# Speech: espeak-ng, then sox to the telephone format.
make_tts() { # <text> <out.wav> <tmpdir>
	local text=$1 out=$2 tmp=$3
	# espeak writes 22050 Hz mono 16-bit WAV.
	espeak-ng -v "$VOICE" -s "$SPEED" -p "$PITCH" -w "$tmp/raw.wav" "$text"
	# -R: seed sox's random numbers so the same text gives the same bytes (reruns
	#     leave committed WAVs unchanged); -D: no dither, which would only add
	#     noise to the silences, and G.711 is coarser than 16 bits anyway.
	# gain -h: headroom for the resampler (espeak peaks at full scale and the
	#     rate filter would clip); the later gain -n restores the level.
	# silence ... reverse silence ... reverse: cut espeak's leading and trailing
	#     silence (anything under -45 dBFS at the ends); pauses inside the text
	#     (0.2-0.4 s at commas and full stops) are espeak's phrasing and stay.
	# highpass 100: drop the rumble under the phone band that only eats headroom.
	# rate -v 8000: very-high-quality resampling to 8 kHz (its low-pass keeps
	#     everything above 4 kHz from aliasing into the band).
	# gain -n $PEAK_DB: normalize the peak to -3 dBFS, no clipping.
	# pad 0.1 0.2: 100 ms before (the far end's jitter buffer and the caller's
	#     ear settle) and 200 ms after (a prompt followed by another doesn't run on).
	sox -R -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/out.wav" \
		gain -h \
		silence 1 0.02 -45d reverse silence 1 0.02 -45d reverse \
		highpass 100 \
		rate -v 8000 \
		gain -n "$PEAK_DB" \
		pad 0.1 0.2
	mv "$tmp/out.wav" "$out"
}

# Music on hold: 20 s of a slow arpeggio of soft decaying sines (a music box),
# I-vi-IV-V in C major, four chords of 5 s, 8 notes each but the last (a rest).
# The final chord dies away in the last second and the file fades in and out
# briefly, so in a loop the phrase starts again after a breath, with no click.
make_moh() { # <out.wav> <tmpdir>
	local out=$1 tmp=$2
	# Notes in semitones from A4 (sox's %n), five chord tones each, kept in the
	# phone band (G4 392 Hz .. C6 1047 Hz; G.711 lines cut under ~300 Hz).
	local chords=("-2 3 7 10 15" "0 3 7 12 15" "0 3 8 12 15" "-2 2 5 10 14")
	# Bass of each chord an octave or so lower, long and quiet, for warmth.
	local bass=(-9 -12 -16 -14) # C4 A3 F3 G3 (their harmonics carry on a phone)
	local pattern=(0 1 2 3 4 3 2 1) # up and down the chord
	local step=0.625 notes=() c i t f=0
	for c in 0 1 2 3; do
		read -r -a tones <<<"${chords[$c]}"
		for i in "${!pattern[@]}"; do
			# The phrase's last note is a rest: the final chord rings out into the
			# loop seam instead of being cut by the fade.
			[ "$c" = 3 ] && [ "$i" = 7 ] && continue
			t=$(awk -v c="$c" -v i="$i" -v s="$step" 'BEGIN { printf "%.3f", (c * 8 + i) * s }')
			f=$((f + 1))
			# A sine with a 20 ms quarter-sine attack (no click) and a logarithmic
			# decay over 2.5 s (about 40 dB a second): a soft plucked or music-box
			# note. Padded to start at its time and to end at 23 s like every note
			# (so sox -m knows the mix's length); 32-bit float keeps the precision.
			sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/n$f.wav" \
				synth 2.5 sine "%${tones[${pattern[$i]}]}" fade q 0.02 fade l 0 2.5 2.48 \
				pad "$t" "$(awk -v t="$t" 'BEGIN { printf "%.3f", 23 - 2.5 - t }')"
			notes+=("$tmp/n$f.wav")
		done
		t=$(awk -v c="$c" 'BEGIN { printf "%.3f", c * 5 }')
		f=$((f + 1))
		# The bass: a slow half-sine swell and fade over the chord, with its second
		# harmonic (which a phone reproduces) mixed in; vol keeps it behind the melody.
		sox -R -n -r 8000 -c 1 -e floating-point -b 32 "$tmp/n$f.wav" \
			synth 4.8 sine "%${bass[$c]}" synth 4.8 sine mix "%$((bass[c] + 12))" \
			fade h 1.2 4.8 2.5 vol 0.35 \
			pad "$t" "$(awk -v t="$t" 'BEGIN { printf "%.3f", 23 - 4.8 - t }')"
		notes+=("$tmp/n$f.wav")
	done
	# -m mixes all notes (sox scales the sum, the gain below sets the level); trim
	# to exactly 20 s (160000 samples); a small room reverb softens the sines;
	# fade in 0.2 s and out 1 s, so the loop seam is quiet.
	sox -R -m "${notes[@]}" -r 8000 -c 1 -e floating-point -b 32 "$tmp/mix.wav" \
		trim 0 160000s \
		reverb 40 50 60 \
		fade q 0.2 160000s 1.0
	# Level: scale so the RMS is MOH_RMS_DB; peaks stay well below full scale.
	local gain
	gain=$(awk -v r="$(rms "$tmp/mix.wav")" -v want="$MOH_RMS_DB" 'BEGIN { printf "%.2f", want - 20 * log(r) / log(10) }')
	sox -R -D "$tmp/mix.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/out.wav" gain "$gain"
	mv "$tmp/out.wav" "$out"
}

# One line per WAV for the listing: name, duration, RMS level.
describe() { # <name> <wav>
	awk -v n="$1" -v d="$(soxi -D "$2")" -v r="$(rms "$2")" \
		'BEGIN { printf "  %-16s %6.2f s  RMS %6.1f dBFS\n", n, d, (r > 0 ? 20 * log(r) / log(10) : -999) }'
}

plan_out=$(plan) || { echo "make-prompts.sh: fix $CATALOG (above) first" >&2; exit 1; }
names=()
while IFS=$'\t' read -r name _ _; do names+=("$name"); done <<<"$plan_out"

if [ "$mode" = make ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	made=0 kept=0
	while IFS=$'\t' read -r name kind text; do
		case "$kind" in
			tts) make_tts "$text" "$tmp/$name.wav" "$tmp" </dev/null ;;
			tone) make_moh "$tmp/$name.wav" "$tmp" </dev/null ;;
		esac
		# Replace a WAV only when its bytes change: reruns touch nothing, and git
		# shows exactly the prompts whose text (or recipe) changed.
		if cmp -s "$tmp/$name.wav" "$DIR/$name.wav"; then
			kept=$((kept + 1))
		else
			mv "$tmp/$name.wav" "$DIR/$name.wav"
			made=$((made + 1))
			echo "made $DIR/$name.wav"
		fi
	done <<<"$plan_out"
	# A WAV with no entry is a prompt that was renamed or dropped: remove it so the
	# directory matches the catalog (recorded replacements live in the override
	# directory, never here; see dialplans/prompts/README.md).
	for wav in "$DIR"/*.wav; do
		[ -e "$wav" ] || continue
		name=$(basename "$wav" .wav)
		printf '%s\n' "${names[@]}" | grep -qxF -- "$name" || { rm -f -- "$wav"; echo "removed $wav (no [prompt.$name] in $CATALOG)"; }
	done
	echo "make-prompts.sh: ${#names[@]} prompts ($made made, $kept unchanged) in $DIR:"
	for name in "${names[@]}"; do describe "$name" "$DIR/$name.wav"; done
	exit 0
fi

# --check
problems=()
for name in "${names[@]}"; do
	wav=$DIR/$name.wav
	if [ ! -f "$wav" ]; then
		problems+=("$wav is missing (run scripts/make-prompts.sh)")
		continue
	fi
	got="$(soxi -t "$wav" 2>/dev/null) $(soxi -r "$wav" 2>/dev/null) Hz $(soxi -c "$wav" 2>/dev/null) ch $(soxi -b "$wav" 2>/dev/null)-bit $(soxi -e "$wav" 2>/dev/null)"
	want="wav 8000 Hz 1 ch 16-bit Signed Integer PCM"
	[ "$got" = "$want" ] || { problems+=("$wav is '$got', not '$want'"); continue; }
	# Not empty and not silent: a broken synthesis gives a tiny or flat file.
	dur=$(soxi -D "$wav")
	awk -v d="$dur" 'BEGIN { exit !(d >= 0.2) }' || problems+=("$wav lasts only $dur s")
	awk -v r="$(rms "$wav")" 'BEGIN { exit !(r >= 0.01) }' || problems+=("$wav is silent (RMS under -40 dBFS)")
done
for wav in "$DIR"/*.wav; do
	[ -e "$wav" ] || continue
	name=$(basename "$wav" .wav)
	printf '%s\n' "${names[@]}" | grep -qxF -- "$name" || problems+=("$wav has no [prompt.$name] entry in $CATALOG (stale: remove it, or add the entry)")
done
if [ ${#problems[@]} -gt 0 ]; then
	echo "make-prompts.sh --check: ${#problems[@]} problem(s):" >&2
	printf '  %s\n' "${problems[@]}" >&2
	exit 1
fi
echo "make-prompts.sh --check: ${#names[@]} prompts OK (8000 Hz mono 16-bit PCM WAV, none silent, none stale)"
