#!/usr/bin/env bash
# Load the Dalian example campaign (units and tasks) into hdbot through its CLI.
# Usage: HDBOT_DATABASE_URL=... bash examples/load.sh
# Set HDBOT to the hdbot executable if it is not on PATH (e.g. HDBOT=.venv/bin/hdbot).
set -euo pipefail

here="$(dirname "$0")"
hdbot="${HDBOT:-hdbot}"

"$hdbot" db upgrade
"$hdbot" campaign set --name "大连市安全生产专项整治三年行动" --closing-date 2026-12-31 --timezone Asia/Shanghai

# units.csv: name,parent,kind — parents come first in the file; skip the header.
first=1
while IFS=, read -r name parent kind || [[ -n "${name:-}" ]]; do
    if ((first)); then
        first=0
        continue
    fi
    kind="${kind%$'\r'}"
    [[ -z "$name" ]] && continue
    if [[ -n "$parent" ]]; then
        "$hdbot" unit add "$name" --parent "$parent" --kind "$kind"
    else
        "$hdbot" unit add "$name" --kind "$kind"
    fi
done < "$here/units.csv"

"$hdbot" import-tasks "$here/tasks.csv"
