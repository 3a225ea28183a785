#!/usr/bin/env bash
# Writes quantbench-cli's man page (section 1) from its own --help: help2man for the synopsis and
# options, and one SUBCOMMANDS subsection per subcommand with that subcommand's --help.
#   installer/make_manpage.sh CLI OUT.1
set -euo pipefail
cli="$1"; out="$2"
include="$(mktemp)"; trap 'rm -f "$include" "$out.tmp"' EXIT
{
  echo "[SUBCOMMANDS]"
  for sub in $("$cli" --help | awk '/^Subcommands:/{f=1; next} f && NF {print $1}'); do
    echo ".SS $sub"
    echo ".nf"
    # roff: a leading dot or quote would be a request; backslashes are escapes.
    "$cli" "$sub" --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo ".fi"
  done
  echo "[FILES]"
  echo "The bundled demo model and texts: /usr/share/quantbench (models/stories260K, data/tinystories)."
} > "$include"
help2man --no-info --section=1 --name="post-training quantization of LLM checkpoints, headless" \
  --include="$include" --output="$out.tmp" "$cli"
mv "$out.tmp" "$out"
