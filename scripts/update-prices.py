#!/usr/bin/env python3
"""Refresh agent-cost's vendored price list from LiteLLM's price JSON.

Usage:
    python3 scripts/update-prices.py PATH [--version X.Y.Z] [--date YYYY-MM-DD] [--out FILE]

PATH is either LiteLLM's `model_prices_and_context_window_backup.json` (unzipped from the
`litellm` wheel) or the wheel itself (`litellm-*.whl`). Given the wheel, the script also copies
the wheel's licence file to crates/agent-cost-prices/data/LICENSE-litellm and reads the version
from the wheel's name.

Get the data (package registries are the only network needed):
    pip download --no-deps litellm -d /tmp/litellm
    cd /tmp/litellm && unzip -o -q litellm-*.whl \
        'litellm/model_prices_and_context_window_backup.json'

The output keeps only chat/responses/completion models a coding agent may use (Anthropic Claude,
including Bedrock and Vertex Claude names; OpenAI; Google Gemini) and only the per-token price
fields agent-cost reads. One model per line, sorted by name, so refreshes diff well.

A tiny supplement (SUPPLEMENT below) fills first-party Claude models or fields that some LiteLLM
releases lack, with Anthropic's list prices. Upstream values always win over the supplement;
every supplemented field is recorded under `_source.supplemented`. Standard library only.
"""

import argparse
import datetime
import json
import os
import re
import sys
import zipfile

JSON_IN_WHEEL = "litellm/model_prices_and_context_window_backup.json"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(REPO_ROOT, "crates", "agent-cost-prices", "data")

KEEP_MODES = {"chat", "responses", "completion"}

# Per-token price fields kept as they are.
BASE_FIELDS = [
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "cache_read_input_token_cost",
]
# Long-context tiers: the same fields with an `_above_<N>k_tokens` suffix (200k for Claude and
# Gemini; some releases also use 128k, 272k, ...). One threshold per model.
TIER_FIELD = re.compile(
    r"^(?:%s)_above_(\d+)k_tokens$" % "|".join(re.escape(f) for f in BASE_FIELDS)
)

# Speed modes whose multiplier LiteLLM records in `provider_specific_entry` (Claude fast mode).
SPEED_KEYS = {"fast"}

# Anthropic list prices, USD per million tokens, for first-party models or fields missing from
# some LiteLLM releases. (input, output, cache write 5m, cache write 1h, cache read).
def M(per_million):
    """USD per million tokens (as text, exact) to USD per token."""
    return float(per_million + "e-6")


def _claude(inp, out, w5, w1h, read):
    return {
        "litellm_provider": "anthropic",
        "input_cost_per_token": M(inp),
        "output_cost_per_token": M(out),
        "cache_creation_input_token_cost": M(w5),
        "cache_creation_input_token_cost_above_1hr": M(w1h),
        "cache_read_input_token_cost": M(read),
    }


def _tier_200k(inp, out, w5, w1h, read):
    return {
        "input_cost_per_token_above_200k_tokens": M(inp),
        "output_cost_per_token_above_200k_tokens": M(out),
        "cache_creation_input_token_cost_above_200k_tokens": M(w5),
        "cache_creation_input_token_cost_above_1hr_above_200k_tokens": M(w1h),
        "cache_read_input_token_cost_above_200k_tokens": M(read),
    }


SONNET_4_TIER = _tier_200k("6", "22.5", "7.5", "12", "0.6")
SUPPLEMENT = {}
for _name in ["claude-sonnet-4", "claude-sonnet-4-20250514"]:
    SUPPLEMENT[_name] = {**_claude("3", "15", "3.75", "6", "0.3"), **SONNET_4_TIER}
for _name in ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"]:
    SUPPLEMENT[_name] = {**_claude("3", "15", "3.75", "6", "0.3"), **SONNET_4_TIER}
for _name in [
    "claude-opus-4-1",
    "claude-opus-4-1-20250805",
    "claude-opus-4",
    "claude-opus-4-20250514",
]:
    SUPPLEMENT[_name] = _claude("15", "75", "18.75", "30", "1.5")
for _name in ["claude-3-7-sonnet", "claude-3-7-sonnet-20250219"]:
    SUPPLEMENT[_name] = _claude("3", "15", "3.75", "6", "0.3")
for _name in ["claude-3-5-haiku", "claude-3-5-haiku-20241022"]:
    SUPPLEMENT[_name] = _claude("0.8", "4", "1", "1.6", "0.08")


def wanted(name, entry):
    """True for models a coding agent may report."""
    if name == "sample_spec" or not isinstance(entry, dict):
        return False
    mode = entry.get("mode")
    if mode is not None and mode not in KEEP_MODES:
        return False
    if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
        return False
    provider = entry.get("litellm_provider", "")
    lower = name.lower()
    if provider == "anthropic":
        return True
    if provider in ("bedrock", "bedrock_converse", "vertex_ai-anthropic_models"):
        return "claude" in lower
    if provider == "openai":
        base = lower.split("/")[-1]
        return bool(re.match(r"^(gpt-|o\d|codex|chatgpt|computer-use)", base))
    if provider in ("gemini", "vertex_ai-language-models"):
        return "gemini" in lower
    return False


def clean_number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        return None
    return value


def filtered(entry):
    out = {}
    provider = entry.get("litellm_provider")
    if isinstance(provider, str):
        out["litellm_provider"] = provider
    for field in BASE_FIELDS:
        value = clean_number(entry.get(field))
        if value is not None:
            out[field] = value
    thresholds = set()
    for field, raw in entry.items():
        match = TIER_FIELD.match(field)
        value = clean_number(raw)
        if match and value is not None:
            thresholds.add(match.group(1))
    if len(thresholds) == 1:
        for field, raw in entry.items():
            value = clean_number(raw)
            if TIER_FIELD.match(field) and value is not None:
                out[field] = value
    specific = entry.get("provider_specific_entry")
    if isinstance(specific, dict):
        speeds = {}
        for key in sorted(SPEED_KEYS):
            value = clean_number(specific.get(key))
            if value is not None and value > 0:
                speeds[key] = value
        if speeds:
            out["provider_specific_entry"] = speeds
    return out


def version_from_name(path):
    match = re.search(r"litellm-(\d+(?:\.\d+)+[^-]*)-", os.path.basename(path))
    return match.group(1) if match else None


def guess_version(json_path):
    """Finds the version from a dist-info directory or wheel next to the unzipped JSON."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(json_path)))
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    for name in names:
        match = re.match(r"^litellm-(\d+(?:\.\d+)+)\.dist-info$", name)
        if match:
            return match.group(1)
    for name in names:
        if name.endswith(".whl"):
            version = version_from_name(name)
            if version:
                return version
    return None


def load(path):
    """Returns (prices dict, version or None, licence text or None)."""
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            data = json.loads(wheel.read(JSON_IN_WHEEL))
            licence = None
            for name in wheel.namelist():
                if ".dist-info/" in name and os.path.basename(name).upper().startswith("LICENSE"):
                    licence = wheel.read(name).decode("utf-8")
                    break
        return data, version_from_name(path), licence
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return data, guess_version(path), None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="model_prices_and_context_window_backup.json or litellm-*.whl")
    parser.add_argument("--version", help="litellm package version (guessed when omitted)")
    parser.add_argument("--date", help="date to record (default: today, UTC)")
    parser.add_argument("--out", default=os.path.join(DATA_DIR, "prices.json"))
    args = parser.parse_args()

    data, version, licence = load(args.path)
    if not isinstance(data, dict):
        sys.exit(f"{args.path}: expected a JSON object of models")
    version = args.version or version or "unknown"
    date = args.date or datetime.datetime.now(datetime.timezone.utc).date().isoformat()

    models = {}
    for name, entry in data.items():
        if wanted(name, entry):
            models[name] = filtered(entry)

    supplemented = {}
    for name, fields in SUPPLEMENT.items():
        entry = models.setdefault(name, {})
        added = sorted(field for field in fields if field not in entry)
        # A tier is all-or-nothing: never mix upstream and supplement tier fields.
        if any(TIER_FIELD.match(field) for field in entry):
            added = [field for field in added if not TIER_FIELD.match(field)]
        for field in added:
            entry[field] = fields[field]
        if added and len(added) == len(fields):
            supplemented[name] = "whole entry"
        elif added:
            supplemented[name] = ", ".join(added)

    source = {
        "package": "litellm",
        "version": version,
        "file": JSON_IN_WHEEL,
        "license": "MIT",
        "license_file": "LICENSE-litellm",
        "date": date,
        "models": len(models),
        "supplemented": supplemented,
    }
    lines = ["{", '"_source": ' + json.dumps(source, sort_keys=True) + ","]
    lines.append('"models": {')
    names = sorted(models)
    for index, name in enumerate(names):
        comma = "," if index + 1 < len(names) else ""
        lines.append(json.dumps(name) + ": " + json.dumps(models[name], sort_keys=True) + comma)
    lines.append("}")
    lines.append("}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    if licence is not None:
        with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), "LICENSE-litellm"),
                  "w", encoding="utf-8") as handle:
            handle.write(licence)
    print(f"wrote {len(models)} models from litellm {version} to {args.out}"
          f" ({len(supplemented)} supplemented)")
    print("now compile it in: UPDATE_BUILTIN_PRICES=1 cargo test -p agent-cost-prices builtin")


if __name__ == "__main__":
    main()
