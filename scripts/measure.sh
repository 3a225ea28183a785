# Sourced by the benchmark scripts: `measure LABEL BYTES COMMAND...` runs COMMAND under
# /usr/bin/time -v, indents its output, and prints its peak RSS (also as a share of BYTES,
# the checkpoint's size) and wall time.
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

measure() {
    local label="$1" bytes="$2"; shift 2
    local log; log="$(mktemp)"
    echo
    echo "\$ $*"
    /usr/bin/time -v "$@" 2>"$log" | sed 's/^/    /'
    grep -v -E '^\s' "$log" | grep -v '^Command' | sed 's/^/    stderr: /' || true
    local rss_kb wall
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    printf '%-8s peak RSS %s kB (%.2f GB, %.0f%% of the checkpoint), wall %s\n' "$label" "$rss_kb" \
        "$(echo "$rss_kb * 1024 / 1000000000" | bc -l)" "$(echo "$rss_kb * 1024 * 100 / $bytes" | bc -l)" "$wall"
    rm -f "$log"
}
