#!/usr/bin/env bash
# Before the tests: the browser tests need Debian's chromium; install it when we may, else say how.
set -euo pipefail

command -v chromium >/dev/null && exit 0

install=(apt-get install -y --no-install-recommends chromium)
# Only root may install, and only where apt-get exists (Debian, as .ci/run and STACK.md assume).
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "chromium ontbreekt voor de browsertests; het wordt nu geïnstalleerd: ${install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update once and try again.
    if "${install[@]}" || { apt-get update && "${install[@]}"; }; then
        command -v chromium >/dev/null && exit 0
    fi
    echo "FOUT: chromium kon niet worden geïnstalleerd; de tests zijn niet gestart." >&2
    exit 1
fi

{
    echo "FOUT: chromium ontbreekt; de browsertests hebben het nodig, dus de tests zijn niet gestart."
    echo "Installeer het met:"
    echo "    sudo ${install[*]}"
} >&2
exit 1
