// Runs the cdklabs cfn-guard validator (the same code and rules the CDK plugin runs) on ONE
// template and prints its report as JSON. compliance/_guard.py runs one of these per template,
// in parallel, and caches the result by template content.
//
// cfn-guard's cost is (rule files x resources): every one of the 237 Control Tower rule files
// scans every resource of the template for the types it checks (about 14 s of CPU for a
// 300-resource template). So each rule file is given only the resources whose types it
// names, plus every resource those reference (Ref, Fn::GetAtt, DependsOn, ${...} in
// Fn::Sub), transitively: a rule file selects resources by a literal type it names
// (`Type == 'AWS::...'`), and its only other way to reach a resource is a lookup by the
// logical ID a selected resource references (`%doc.Resources[ keys == %resource_key ]`,
// e.g. "the SourceArn's rule exists"). tests/test_guard_parallel.py checks these assumptions
// on every rule file of the pinned bundle, and that the findings equal a run on the whole
// template for every kind of template of the sample synth. A rule file that names no type, or
// selects `Resources.*` without a type filter, is run on the whole template. Rule files
// whose types the template does not contain are skipped: they select nothing.
//
// usage: node guard_worker.js <validator package dir> <template.json> [--whole]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { CfnGuardValidator } = require(path.join(process.argv[2], 'lib', 'plugin.js'));

const validator = new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 256 * 1024 * 1024 });
const templatePath = process.argv[3];

// --whole: cfn-guard over the whole template, as the cdklabs plugin runs it (tests compare).
const whole = process.argv.includes('--whole');

const TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
const UNTYPED = /Resources\s*\.\s*\*(?!\s*\[\s*Type\b)/;

function ruleFiles(p) {
  return fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).sort().flatMap((d) => ruleFiles(path.join(p, d)))
    : [p];
}

// The types a rule file can select, or null: run it on the whole template.
function ruleTypes(file) {
  const body = fs.readFileSync(file, 'utf8').split('\n')
    .filter((line) => !line.trimStart().startsWith('#')).join('\n');
  const types = [...new Set(body.match(TYPE) || [])].sort();
  return types.length === 0 || UNTYPED.test(body) ? null : types;
}

const template = JSON.parse(fs.readFileSync(templatePath, 'utf8'));
const resources = Object.entries(template.Resources || {});
const byId = template.Resources || {};

// The logical IDs a value references.
function references(value, out) {
  if (Array.isArray(value)) {
    value.forEach((v) => references(v, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string') out.add(v);
      else if (k === 'Fn::GetAtt') {
        const target = Array.isArray(v) ? v[0] : typeof v === 'string' ? v.split('.')[0] : null;
        if (typeof target === 'string') out.add(target);
        else references(v, out);
      } else if (k === 'Fn::Sub') {
        const text = Array.isArray(v) ? v[0] : v;
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([^}!.]+)[^}]*\}/g)) out.add(m[1]);
        }
        if (Array.isArray(v)) references(v[1], out);
      } else references(v, out);
    }
  } else if (typeof value === 'string' && byId[value]) {
    out.add(value); // a bare logical ID (DependsOn, or a key a rule may look up)
  }
}

// The selected resources and everything they reference, transitively.
function closure(selected) {
  const ids = new Set(selected.map(([k]) => k));
  const queue = [...ids];
  while (queue.length) {
    const found = new Set();
    references(byId[queue.pop()], found);
    for (const id of found) {
      if (byId[id] !== undefined && !ids.has(id)) {
        ids.add(id);
        queue.push(id);
      }
    }
  }
  return resources.filter(([k]) => ids.has(k));
}
const groups = new Map(); // type list (or "*") -> rule files
for (const file of validator.getRules(validator.rulesPaths).flatMap(ruleFiles)) {
  const types = ruleTypes(file);
  const key = types === null ? '*' : types.join(',');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(file);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-'));
const report = whole ? validator.validate({ templatePaths: [templatePath] }) : { success: true, violations: [] };
try {
  // Rule files whose selections come out the same share one cfn-guard run (a process start
  // costs more than the rules: types a template lacks make many type lists select alike).
  const runs = new Map(); // selected logical IDs -> { resources, rules }
  for (const [key, rules] of whole ? [] : groups) {
    const wanted = key === '*' ? null : new Set(key.split(','));
    const selected = wanted === null ? resources : resources.filter(([, r]) => wanted.has(r && r.Type));
    if (selected.length === 0) continue; // its rules select nothing here
    const given = wanted === null ? selected : closure(selected);
    const id = given.map(([k]) => k).join('\n');
    if (!runs.has(id)) runs.set(id, { given, rules: [] });
    runs.get(id).rules.push(...rules);
  }
  let n = 0;
  for (const { given, rules } of runs.values()) {
    const part = path.join(scratch, `part-${n++}.json`);
    fs.writeFileSync(part, JSON.stringify({ ...template, Resources: Object.fromEntries(given) }));
    const result = validator.execGuard({ templatePaths: [part], rulePaths: rules });
    report.success = report.success && result.success;
    report.violations.push(...result.violations);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
