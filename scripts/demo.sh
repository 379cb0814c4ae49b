#!/usr/bin/env bash
# The main job on the bundled example site (see README). Prints what it checked.
# Today: the policy/topology check (`segcheck validate`); the analysis (`segcheck check`)
# joins here when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "== segcheck validate: Riverbend Water policy and topology (the clean site)"
$bin/segcheck validate policies/riverbend.yaml topologies/riverbend.yaml
echo
echo "== segcheck validate: the misconfigured variant (BRIEF.md §6; see"
echo "   topologies/riverbend-misconfigured/SCENARIOS.md for what the analysis must find)"
$bin/segcheck validate topologies/riverbend-misconfigured.yaml

# The main job: `segcheck check` on both variants, reports written into out/.
mkdir -p out
for site in riverbend riverbend-misconfigured; do
  echo
  echo "== segcheck check: $site (reports in out/$site.*)"
  for fmt in json sarif markdown html; do
    ext=$fmt; [ "$fmt" = markdown ] && ext=md
    $bin/segcheck check --policy policies/riverbend.yaml --topology "topologies/$site.yaml" \
      --format "$fmt" -o "out/$site.$ext" --fail-on never
  done
  $bin/segcheck check --policy policies/riverbend.yaml --topology "topologies/$site.yaml" \
    -o "out/$site.txt" --graph "out/$site.svg" --fail-on never
  head -3 "out/$site.txt" | grep -v '^!!' || true
  rc=0
  $bin/segcheck check --policy policies/riverbend.yaml --topology "topologies/$site.yaml" \
    -o /dev/null || rc=$?
  echo "   CI gate (--fail-on high): exit $rc"
done
echo
echo "== segcheck check with captures (observed vs policy): out/riverbend-incident.txt"
$bin/segcheck check --policy policies/riverbend.yaml --topology topologies/riverbend.yaml \
  --capture captures/riverbend-incident.pcapng -o out/riverbend-incident.txt --fail-on never
head -3 out/riverbend-incident.txt | grep -v '^!!' || true

# The same site on real vendors (BRIEF §2.3: fw-it a PAN-OS, fw-ot a FortiGate). Their exports
# are equivalent to the iptables ones (tests/parsers/test_panos_riverbend_vendors.py), so the
# same scenarios must come out.
for site in riverbend-vendors riverbend-vendors-misconfigured; do
  echo
  echo "== segcheck check: $site (PAN-OS + FortiGate; reports in out/$site.*)"
  $bin/segcheck check --policy policies/riverbend.yaml --topology "topologies/$site.yaml" \
    -o "out/$site.txt" --fail-on never
  $bin/segcheck check --policy policies/riverbend.yaml --topology "topologies/$site.yaml" \
    --format html -o "out/$site.html" --fail-on never
  head -3 "out/$site.txt" | grep -v '^!!' || true
done
