#!/usr/bin/env bash
# The main job on the bundled example site (see README). Prints what it checked.
set -u
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "== segcheck validate: Riverbend Water policy and topology"
$bin/segcheck validate policies/riverbend.yaml topologies/riverbend.yaml
