#!/bin/sh
# Creates one virtual environment per peer under benchmarks/peers/.venvs/ (gitignored), so that
# none of them is a dependency of catenary and none sees another's packages:
#   redun/     redun (sqlite backend)
#   prefect/   Prefect 3 (ephemeral local server on sqlite, result persistence)
#   hamilton/  Apache Hamilton (Builder().with_cache())
#   tools/     matplotlib (plots) and pyinstrument / py-spy (profiles) for the scaling suite
# catenary itself runs from the project's .venv (`make` builds it). Versions are pinned so the
# figures in docs/benchmarks.md can be reproduced. Re-running is cheap: a venv whose stamp file
# matches its requirement line is left alone.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VENVS="$HERE/.venvs"
PYTHON=${PYTHON:-python3}
mkdir -p "$VENVS"

make_venv() {  # name, requirements...
    name=$1; shift
    stamp="$VENVS/$name/.installed"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
        echo "setup: $name up to date ($*)"
        return
    fi
    echo "setup: $name <- $*"
    rm -rf "$VENVS/$name"
    "$PYTHON" -m venv "$VENVS/$name"
    # pip's output goes to a log (it can be long); shown only when the install fails.
    if ! "$VENVS/$name/bin/pip" install --quiet --disable-pip-version-check "$@" > "$VENVS/$name.log" 2>&1; then
        grep -v '^WARNING: Location' "$VENVS/$name.log" | tail -20 >&2
        echo "setup: installing $* into $VENVS/$name failed (log: $VENVS/$name.log)" >&2
        exit 1
    fi
    echo "$*" > "$stamp"
}

make_venv redun "redun==0.44.1"
make_venv prefect "prefect==3.9.1"
make_venv hamilton "apache-hamilton==1.90.0"
make_venv tools "matplotlib==3.11.2" "pyinstrument==5.1.3" "py-spy==0.4.3"
