#!/usr/bin/env bash
# GPU readiness in at most 8 minutes, on a machine with one CUDA GPU and vLLM installed, offline:
#   1. the generation contract suite (hf and vLLM; data-parallel cases skip on one GPU),
#   2. the embedded default with generator.backend: vllm from prepare through verify and
#      reward sorm (engines start one at a time: a leak fails with vLLM's "Free memory on device"),
#   3. tokens/s of hf and vLLM on the same verify prompts, both at float32.
# Run from anywhere: bash benchmarks/gpu_check.sh. Each part has its own time limit; the script
# stops at the first failure, naming the part.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
export HF_HUB_OFFLINE=1 DVC_NO_ANALYTICS=1 GX_ANALYTICS_ENABLED=false TQDM_DISABLE=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
START=$SECONDS

part() {  # part NAME SECONDS COMMAND...: run with a time limit, report its wall time
    local name=$1 limit=$2 began=$SECONDS
    shift 2
    if ((limit <= 0)); then
        echo "FAILED: $name: no time left" >&2
        exit 1
    fi
    echo "== $name (limit ${limit}s)"
    if ! timeout --kill-after=10 "$limit" "$@"; then
        echo "FAILED: $name after $((SECONDS - began))s" >&2
        exit 1
    fi
    echo "== $name: ok in $((SECONDS - began))s"
}

"$PYTHON" - <<'EOF'
import torch, vllm
assert torch.cuda.is_available(), "no CUDA device visible"
print(f"torch {torch.__version__}, vllm {vllm.__version__}, {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}")
EOF

cd "$ROOT"
part "generation contract suite" 140 "$PYTHON" -m pytest -q -p no:cacheprovider -rs tests/generation

# The embedded default in a scratch folder: the committed base model, params.yaml with vLLM.
mkdir -p "$WORK/models"
cp -r "$ROOT/models/base" "$WORK/models/base"
"$PYTHON" - "$ROOT/params.yaml" "$WORK/params.yaml" <<'EOF'
import sys, yaml
params = yaml.safe_load(open(sys.argv[1]))
params["generator"].update(backend="vllm", enforce_eager=True)  # eager: engines start in seconds
yaml.safe_dump(params, open(sys.argv[2], "w"))
EOF
cd "$WORK"
DEADLINE=$((SECONDS + 260))  # the whole pipeline's share of the 8 minutes
for stage in prepare sft ei rollouts verify label "reward sorm"; do
    # shellcheck disable=SC2086  # "reward sorm" is a command and its argument
    part "glore $stage (vLLM)" $((DEADLINE - SECONDS)) "$PYTHON" -m factory.cli $stage
done
"$PYTHON" - <<'EOF'
import json
for stage in ("sft", "ei", "rollouts", "verify"):
    summary = json.load(open(f"metrics/{stage}.json"))
    print(stage, {key: summary[key] for key in ("dtype", "dev_maj1", "rollouts", "correct_share", "generated_tokens")
                  if key in summary} | ({"test": summary["test"]} if "test" in summary else {}))
EOF

cd "$ROOT"
part "tokens/s, hf vs vLLM, same prompts" 80 "$PYTHON" benchmarks/generate.py --model "$WORK/models/base" \
    --backends hf,vllm --dtype float32 --enforce-eager --runs 2 --out "$WORK/generate.json"
"$PYTHON" - "$WORK/generate.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
for backend in ("hf", "vllm"):
    print(f"{backend}: {report[backend]['tokens_per_s_median']} tokens/s (start {report[backend]['startup_s']} s)")
print(f"vLLM / hf: {report.get('vllm_over_hf')}")
EOF
echo "gpu_check: all parts passed in $((SECONDS - START))s"
