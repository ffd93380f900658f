#!/usr/bin/env bash
# Set up the peer tools that benchmarks/compare_peers.py compares emoscope with, each in its own virtual
# environment under .peers/<name>/ (git-ignored): their dependencies clash (TensorFlow + PyTorch 2.2 for `fer`,
# PyTorch >= 2.5 for py-feat, ...), and none of them may touch emoscope's own environment.
#
#   bash benchmarks/setup_peers.sh                 # all peers
#   bash benchmarks/setup_peers.sh fer deepface    # some of them
#   PEERS_DIR=/elsewhere PEERS_PYTHON=python3.11 bash benchmarks/setup_peers.sh
#
# Each peer is installed exactly as its users install it (`pip install <package>==<version>`, dependencies as pip
# resolves them from the package index), nothing else: no weights are fetched here. A peer that downloads its
# weights on first use fails later, offline, in compare_peers.py, which reports the error. The log of each install
# is .peers/<name>/install.log; an install that fails leaves .peers/<name>.install-error with pip's last lines,
# which compare_peers.py reports in place of figures.
set -u

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/.peers}"
PEERS_PYTHON="${PEERS_PYTHON:-python3.11}"

# name -> pip requirement (pinned: the versions measured in the README)
declare -A SPEC=(
    [fer]="fer==25.10.3"
    # deepface 0.0.103 imports werkzeug without declaring it (only its `api` extra brings it in): without it
    # `from deepface import DeepFace` fails with ModuleNotFoundError, so it is added here, as users must.
    [deepface]="deepface==0.0.103 werkzeug"
    [py-feat]="py-feat==2.1.5"
    [hsemotion]="hsemotion==0.3.0"
    [hsemotion-onnx]="hsemotion-onnx==0.3.1"
    [emotiefflib]="emotiefflib==1.1.1"
)
ORDER=(fer deepface py-feat hsemotion hsemotion-onnx emotiefflib)

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ORDER[@]}")
mkdir -p "$PEERS_DIR"
status=0
for name in "${names[@]}"; do
    spec="${SPEC[$name]:-}"
    if [ -z "$spec" ]; then
        echo "unknown peer '$name' (known: ${ORDER[*]})" >&2
        status=2
        continue
    fi
    venv="$PEERS_DIR/$name"
    err="$PEERS_DIR/$name.install-error"
    rm -f "$err"
    echo "== $name: $spec -> $venv"
    if [ ! -x "$venv/bin/python" ]; then
        "$PEERS_PYTHON" -m venv "$venv" || { echo "venv creation failed" >"$err"; status=1; continue; }
    fi
    # shellcheck disable=SC2086  # $spec may hold several requirements
    if "$venv/bin/python" -m pip install --disable-pip-version-check $spec >"$venv/install.log" 2>&1; then
        "$venv/bin/python" -m pip freeze --disable-pip-version-check >"$venv/freeze.txt" 2>/dev/null
        echo "   ok ($(du -sh "$venv" | cut -f1))"
    else
        grep -v "is ignored: it is neither" "$venv/install.log" | tail -n 15 >"$err"
        echo "   FAILED, see $err"
        status=1
    fi
done
exit $status
