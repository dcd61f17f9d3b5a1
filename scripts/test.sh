#!/usr/bin/env bash
# The test command from the README. The runtime packages (and the root
# package, which drives them) run under the race detector; everything else
# runs plainly, so the suite fits well inside 15 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
race_pkgs=$(go list . ./runtime/...)
other_pkgs=$(go list ./... | grep -v -x -F -f <(printf '%s\n' $race_pkgs))
status=0
go test -race -count=1 -timeout 12m $race_pkgs || status=1
go test -count=1 -timeout 12m $other_pkgs || status=1
exit $status
