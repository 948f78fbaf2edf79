#!/usr/bin/env bash
# Run tests/ml under the Python and library versions of each SageMaker image the steps run in.
#
# One requirement file per image (ml/images/<image>.txt, pinned to what AWS ships in it); one
# venv per file, made with Python 3.9 (the images' minor version) and cached under
# .venvs/<image>-<sha256 of the file>/ (a changed file builds a new venv). `make test` runs
# this after the main suite. Where Python 3.9 is missing the run is skipped with a message
# (it does not fail): set PY39=/path/to/python3.9 to point at another interpreter.
set -euo pipefail
PY39="${PY39:-/root/.pyenv/versions/3.9.18/bin/python}"
cd "$(dirname "$0")/../.."

if [ ! -x "$PY39" ]; then
  echo "SKIPPED: no Python 3.9 at $PY39 (set PY39=...): tests/ml did NOT run under the" \
       "SageMaker image versions of ml/images/*.txt." >&2
  exit 0
fi
if ! "$PY39" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 9))'; then
  echo "$PY39 is not Python 3.9: the SageMaker XGBoost 1.7-1 and scikit-learn 1.2-1 images run 3.9" >&2
  exit 1
fi

status=0
for requirements in ml/images/*.txt; do
  image=$(basename "$requirements" .txt)
  digest=$(sha256sum "$requirements" | cut -c1-12)
  venv=".venvs/$image-$digest"
  if [ ! -f "$venv/.installed" ]; then
    rm -rf ".venvs/$image"-*
    "$PY39" -m venv "$venv"
    # Every package is pinned in the file, dependencies included: no resolver, wheels only.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
      --no-deps -r "$requirements"
    touch "$venv/.installed"
  fi
  echo "== tests/ml with the $image image's versions ($("$venv/bin/python" -c \
    'import sys, numpy, pandas; print("Python %d.%d.%d, numpy %s, pandas %s" % (sys.version_info[:3] + (numpy.__version__, pandas.__version__)))'))"
  # --confcutdir: the repository's tests/conftest.py needs the CDK libraries, which the
  # images (and these venvs) do not have; tests/ml/conftest.py is self-contained.
  "$venv/bin/python" -m pytest tests/ml -q -p no:cacheprovider --confcutdir=tests/ml || status=1
done
exit "$status"
