"""What each shipped product collects (issue 22 item 3): every manifest of the catalogue declares the
fields its product's own code or documentation lists, cited in a comment above them, unless the
product documents none - and then it is named below with the reason, so that a manifest cannot lose
its fields, or ship without them, quietly.

The field names below are transcribed from the sources the manifests cite (a comment above the
first ``[fields.*]`` table): Homebrew utils/analytics.rb (6.0.18), PowerShell Telemetry.cs (v7.6.5),
.NET TelemetryCommonProperties.cs, Next.js storage.ts and anonymous-meta.ts, @nuxt/telemetry 2.8.0,
HashiCorp's checkpoint clients (go-checkpoint v0.5.0, ruby-checkpoint v0.1.6), Semgrep metrics.py
(v1.93.0), Go's telemetry types.go, VS Code commonProperties.ts, huggingface_hub _headers.py
(v1.28.0), dbt-core tracking.py (v1.11.14), DVC analytics.py (3.64.0), AWS SAM CLI metric.py (v1.164.0),
BentoML schemas.py (v1.4.38), crewAI telemetry.py (1.15.17), DeepEval properties.py (v4.1.8), Ragas
_analytics.py (v0.4.3), Soda Core soda_telemetry.py (v4.21.1), Haystack
telemetry (v3.0.0), Prefect 3.9.1 and SkyPilot 0.14.1 (their released wheels), Meltano tracking contexts
(v4.2.2), Angular CLI 22.1.5, Astro 7.2.4 with @astrojs/telemetry 3.3.3 and Prisma 7.9.1 (their npm packages),
Streamlit 1.39.0 SegmentMetricsManager.ts, Gradio 6.25.0 analytics.py (its wheel),
Gatsby's gatsby-telemetry telemetry.ts, Azure CLI 2.91.0 telemetry.py (azure-cli-core's wheel), Expo CLI
58.1.21 (its npm package), gcloud metrics.py (v578.0.0),
dlt anon_tracker.py (1.26.0), ZenML 0.98.0 analytics/context.py (its wheel), Wrangler
metrics-dispatcher.ts and types.ts (at 38b46238), Yarn's TelemetryManager.js (@yarnpkg/core 4.9.3) and
Salesforce CLI's commandExecution.js (@salesforce/plugin-telemetry 4.0.6, with @salesforce/telemetry 7.1.9).
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import Telemetry
from telemetry_gate.policy.manifests import SHIPPED, Manifest, parse

FILES = {path.stem: path for path in sorted(SHIPPED.glob("*.toml"))}
MANIFESTS: dict[str, Manifest] = {name: parse(path.read_bytes(), str(path)) for name, path in FILES.items()}

# Shipped products whose own code or documentation lists nothing a user could read as fields, each
# with the reason (one line). Every other shipped manifest must declare its fields.
NO_FIELDS: dict[str, str] = {
    "opentelemetry": "the SDK sends the host program's own spans, metrics and logs, to the program's own exporter",
    "wandb": "0.31.0's recorder names its attributes at each call site; v0.31.0 was not readable here",
    "jupyterlab": "it collects nothing: its server only GETs a news feed and PyPI's JSON (announcements.py)",
    "turborepo": "its events' code (turborepo-telemetry events/, turborepo-vercel-api) at 050a3886 was not readable",
}

# Fields declared before the rule that a comment naming their source (a URL, or a file at the tag of
# the manifest's own sources) stands right above them, in a manifest another change edits: still to be cited.
UNCITED = frozenset({"vercel"})

# A URL, or a file of the product's code (at the tag of the manifest's own sources)
CITATION = re.compile(r"https://\S+|\b[\w./-]+\.(?:py|ts|js|go|rb|rs|cs|sh|md|c|swift|kt)\b")

CATEGORIES = {"usage", "performance", "device", "crash"}


def test_every_shipped_product_declares_its_fields_or_says_why_not() -> None:
    assert set(NO_FIELDS) <= set(MANIFESTS), set(NO_FIELDS) - set(MANIFESTS)
    for name, manifest in MANIFESTS.items():
        if name in NO_FIELDS:
            assert not manifest.fields, f"{name} declares fields: take it out of NO_FIELDS"
        else:
            assert manifest.fields, f"{name}.toml declares no [fields.*]: declare them or list it in NO_FIELDS"


def test_each_reason_is_one_line() -> None:
    for name, reason in NO_FIELDS.items():
        assert reason.strip() and "\n" not in reason, name


@pytest.mark.parametrize("name", sorted(n for n, m in MANIFESTS.items() if m.fields))
def test_declared_fields_are_described_cited_and_never_strict(name: str) -> None:
    manifest = MANIFESTS[name]
    for field in manifest.fields:
        assert field.category in CATEGORIES and field.description.strip(), f"{name}: {field.name}"
    # declaring what a product sends must never make the library drop what the product records
    assert not manifest.strict, name
    if name in UNCITED:
        return
    # the comment right above the first [fields.*] table names where the list comes from
    text = FILES[name].read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(text) if line.startswith("[fields."))
    comment = []
    for line in reversed(text[:first]):
        if not line.startswith("#"):
            break
        comment.append(line)
    assert any(CITATION.search(line) for line in comment), f"{name}: no source above its fields"


@pytest.mark.parametrize(("product", "fields"), [
    ("homebrew", ["measurement", "package", "tap_name", "options", "on_request", "os_name_and_version"]),
    ("powershell", ["UUID", "SessionId", "OSDescription", "RuntimeIdentifier", "ModuleName", "Detail"]),
    ("dotnet", ["Machine ID", "Current Path Hash", "OS Version", "Docker Container", "Product Version"]),
    ("nextjs", ["eventName", "anonymousId", "projectId", "sessionId", "cpuModel", "memoryInMb"]),
    ("nuxt", ["projectHash", "nuxtVersion", "nodeVersion", "command", "moduleName"]),
    ("terraform", ["product", "version", "arch", "os", "signature"]),
    ("vagrant", ["product", "version", "arch", "os", "signature"]),
    ("go", ["Week", "Program", "GoVersion", "GOOS", "GOARCH", "Counters", "Stacks"]),
    ("vscode", ["common.machineId", "sessionID", "common.platform", "common.nodeArch"]),
    ("dbt", ["user_id", "invocation_id", "project_id", "command", "platform"]),
    ("huggingface-hub", ["topic", "hf_hub", "python", "torch"]),
    ("deepeval", ["user.unique_id", "deepeval.version", "eval.metrics", "judge.model"]),
    ("soda-core", ["cli__*", "cli__exit_code", "python.version", "name", "status"]),
    ("bentoml", ["session_id", "client", "yatai_user_email", "cmd_group"]),
    ("haystack", ["user_id", "libraries.haystack", "pipeline_type", "components"]),
    ("prefect", ["source", "prefect_version", "session_id", "device_id"]),
    ("meltano", ["project_uuid", "client_uuid", "process_hierarchy", "plugins", "exception"]),
    ("skypilot", ["user", "run_id", "user_task_yaml", "skypilot_config"]),
    ("angular-cli", ["cid", "up.ng_cli_version", "ep.ng_command", "epn.ng_duration_ms"]),
    ("astro", ["anonymousId", "anonymousProjectId", "cliCommand", "config", "flags"]),
    ("prisma", ["signature", "project_hash", "cli_path_hash", "command", "schema_providers"]),
    ("streamlit", ["machineIdV3", "reportHash", "commands", "uncaughtException"]),
    ("gradio", ["version", "mode", "launch_method", "blocks", "python_path"]),
    ("azure-cli", ["Context.Default.AzureCLI.UserAzureId", "Context.Default.AzureCLI.RawCommand",
                   "Reserved.SessionId"]),
    ("gatsby", ["eventType", "machineId", "osInformation", "siteHash", "dependencies"]),
    ("expo", ["anonymousId", "userHash", "os", "device", "cpu"]),
    ("semgrep", ["event_id", "anonymous_user_id", "environment.projectHash", "value.features"]),
    ("dlt", ["anonymousId", "event", "exec_info", "pipeline_name_hash", "extract_data", "elapsed"]),
    ("zenml", ["user_id", "client_id", "event", "environment", "timezone", "locale", "email"]),
    ("wrangler", ["deviceId", "event", "sanitizedCommand", "argsUsed", "agent", "errorMessage"]),
    ("yarn", ["userId", "version", "commandName", "installCount", "projectCount", "dependencyCount"]),
    ("salesforce-cli", ["cliId", "command", "specifiedFlags", "orgId", "targetOrgUsername", "specifiedEnvs",
                        "common.cpus"]),
    ("gcloud", ["client_install_id", "event_name", "flag_names", "error_type", "latency_ms", "user-agent"]),
])
def test_inspect_catalog_shows_the_fields(product: str, fields: list[str], inprocess: Telemetry) -> None:
    (entry,) = json.loads(inprocess("inspect", "--catalog", "-p", product, "--json").stdout)
    assert [f["name"] for f in entry["fields"] if f["name"] in fields] == [
        f.name for f in MANIFESTS[product].fields if f.name in fields]
    assert set(fields) <= {f["name"] for f in entry["fields"]}
    out = inprocess("inspect", "--catalog", "-p", product).stdout
    assert "no fields declared" not in out
    assert all(name in out for name in fields)


def test_a_product_that_documents_none_says_so(inprocess: Telemetry) -> None:
    out = inprocess("inspect", "--catalog", "-p", "opentelemetry").stdout
    assert "no fields declared" in out
