#!/usr/bin/env bash
# Render the chart with the real Helm 3 engine and check the manifests (HelmRender.java),
# on machines without a helm binary. Helm comes as helm-java from Maven Central (its jar
# carries Helm's Go library built for linux-amd64), resolved by pom.xml into ~/.m2.
#
#   render_chart.sh CHART_DIR
#
# Exit 0 ok, 1 a check failed, 77 skipped (no java/mvn, not linux-amd64, or Maven could not
# resolve the jars, e.g. offline).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
chart=${1:?usage: render_chart.sh CHART_DIR}

skip() { echo "render_chart: skipped: $*"; exit 77; }
command -v java >/dev/null || skip "no java"
command -v mvn >/dev/null || skip "no mvn"
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || skip "helm-java is pinned to linux-amd64 here"

cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
if ! mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" \
        >"$cp_file.log" 2>&1; then
    tail -5 "$cp_file.log" >&2
    rm -f "$cp_file.log"
    skip "Maven could not resolve helm-java"
fi
rm -f "$cp_file.log"
java -cp "$(cat "$cp_file")" "$here/HelmRender.java" "$chart" "$here/values-all.yaml"
