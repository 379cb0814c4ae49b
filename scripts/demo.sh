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
