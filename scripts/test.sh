#!/usr/bin/env bash
# The test command from the README. The runtime packages run under the race
# detector; everything else runs plainly so the suite fits in 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
race_pkgs=$(go list ./runtime/... . | tr '\n' ' ')
other_pkgs=$(go list ./... | grep -v -x -F -f <(go list ./runtime/... .) | tr '\n' ' ')
go test -race -count=1 -timeout 12m $race_pkgs
go test -count=1 -timeout 12m $other_pkgs
