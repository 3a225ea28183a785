#!/usr/bin/env bash
# The .deb as a user gets it: cpack builds it from BUILD_DIR, dpkg -x unpacks it into a fresh
# root outside the build folder (so nothing can fall back to the source tree's resources), and
# the unpacked programs run from there: quantbench-cli eval on the bundled model found under
# <root>/usr/share/quantbench, and the GUI offscreen opening the demo model and saving a
# screenshot. Also checked: Depends, the man page, the completion, AppStream and desktop files.
#   tests/app/test_package.sh BUILD_DIR
set -euo pipefail
build="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb="$(ls "$work"/pkg/*.deb)"
depends="$(dpkg-deb -f "$deb" Depends)"
for d in libqt6core6 libqt6widgets6 libopenblas0 libhdf5-cpp-103-1 qt6-qpa-plugins libqt6svg6; do
  grep -q "$d" <<<"$depends" || fail "Depends lacks $d: $depends"
done

dpkg -x "$deb" "$work/root"
usr="$work/root/usr"
for f in bin/quantbench-cli bin/quantbench share/man/man1/quantbench-cli.1.gz \
         share/bash-completion/completions/quantbench-cli share/applications/org.quantbench.Quantbench.desktop \
         share/metainfo/org.quantbench.Quantbench.metainfo.xml share/icons/hicolor/scalable/apps/quantbench.svg \
         share/quantbench/models/stories260K/config.json share/quantbench/data/tinystories/eval.txt; do
  [ -e "$usr/$f" ] || fail "the package has no /usr/$f"
done
zcat "$usr/share/man/man1/quantbench-cli.1.gz" | grep -q '^\.SS quantize' || fail "the man page has no quantize section"
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net "$usr/share/metainfo/org.quantbench.Quantbench.metainfo.xml" >/dev/null ||
    fail "appstreamcli rejects the metainfo"
fi
# The completion offers subcommands read from the unpacked CLI's --help.
completions="$(bash -c "source '$usr/share/bash-completion/completions/quantbench-cli'
  COMP_WORDS=('$usr/bin/quantbench-cli' qu); COMP_CWORD=1; _quantbench_cli; echo \"\${COMPREPLY[*]}\"")"
[ "$completions" = "quantize" ] || fail "completion of 'qu' gave '$completions'"

cd "$work"
unset QB_RESOURCES_DIR
out="$("$usr/bin/quantbench-cli" eval --model "$usr/share/quantbench/models/stories260K" \
        --text "$usr/share/quantbench/data/tinystories/eval.txt" --max-windows 4 --json --quiet)"
grep -q '"perplexity"' <<<"$out" || fail "eval printed no perplexity: $out"

export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export XDG_RUNTIME_DIR="$work/run" QT_QPA_PLATFORM=offscreen
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
timeout 120 "$usr/bin/quantbench" --demo --screenshot "$work/gui.png" 2>"$work/gui.log" ||
  { cat "$work/gui.log"; fail "the unpacked GUI did not open the bundled demo model"; }
[ "$(stat -c %s "$work/gui.png")" -gt 20000 ] || fail "the screenshot is nearly empty"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes; eval and the GUI ran from the unpacked root"
