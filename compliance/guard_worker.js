// Runs the cdklabs cfn-guard validator (the same code and rules the CDK plugin runs) on ONE
// template and prints its report as JSON. compliance/_guard.py runs one of these per template,
// in parallel, and caches the result by template content.
//
// cfn-guard's cost is (resources given x runs): it copies its view of the data over and over
// (about 14 s of CPU for a 300-resource template with all 237 Control Tower rule files). So
// each rule file is given only what it can reach:
// - the resources of the types it selects (`Resources.*[ Type == %X or Type == %Y ]` or
//   `Resources[ Type == %X ]`, each %X a `let X = "AWS::..."` (or '...'), or a literal type). If a
//   selection has any other form, every type the file names counts as selected;
// - if it also looks resources up by the logical ID a selected resource references
//   (`%doc.Resources[ keys == %resource_key ]`, e.g. "the SourceArn's rule exists", "the
//   monitoring role is a role of this template"), everything the selected resources reference
//   (Ref, Fn::GetAtt, DependsOn, ${...} in Fn::Sub), transitively. A rule file without such a
//   lookup reaches no resource but those it selects.
// tests/test_guard_parallel.py checks these assumptions on every rule file of the pinned
// bundle, and that the findings equal a run on the whole template for every kind of template
// of the sample synth, on Studio and on notebook instances. A rule file that names no type, or
// selects `Resources.*` without a type filter, is run on the whole template. Rule files that
// select nothing in the template are skipped.
//
// usage: node guard_worker.js <validator package dir> <template.json> [--whole]
//        node guard_worker.js <validator package dir> --scopes   (what each rule file is given)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { CfnGuardValidator } = require(path.join(process.argv[2], 'lib', 'plugin.js'));

const validator = new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 256 * 1024 * 1024 });
const templatePath = process.argv[3];
const scopesOnly = templatePath === '--scopes';

// --whole: cfn-guard over the whole template, as the cdklabs plugin runs it (tests compare).
const whole = process.argv.includes('--whole');

const TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
const UNTYPED = /Resources\s*\.\s*\*(?!\s*\[\s*Type\b)/;

function ruleFiles(p) {
  return fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).sort().flatMap((d) => ruleFiles(path.join(p, d)))
    : [p];
}

const SELECTION = /Resources\s*(?:\.\s*\*\s*)?\[([^\]]*)\]/g; // Resources.*[ ... ], Resources[ ... ]
const TYPE_TEST = /Type\s*==\s*(%[A-Za-z0-9_]+|(["'])AWS::[A-Za-z0-9]+::[A-Za-z0-9]+\2)/g;
const LOOKUP = /Resources\s*\[\s*keys\b/; // %doc.Resources[ keys == %resource_key ]

// What a rule file can reach, or null: run it on the whole template.
// - types: the types it selects (`Resources.*[ Type == %X or Type == %Y ]`, each %X a
//   `let X = "AWS::..."`). A selection that is anything else counts every type the file
//   names (a type it only looks up by reference, such as the IAM role an RDS instance's
//   monitoring role names, is then selected as well: more work, never less).
// - lookup: it looks resources up by a logical ID a selected resource references; only then
//   does it need what its selection references, transitively (closure below).
function ruleScope(file) {
  const body = fs.readFileSync(file, 'utf8').split('\n')
    .filter((line) => !line.trimStart().startsWith('#')).join('\n');
  const named = [...new Set(body.match(TYPE) || [])].sort();
  if (named.length === 0 || UNTYPED.test(body)) return null;
  const constants = new Map();
  let exact = true;
  for (const m of body.matchAll(/^\s*let\s+([A-Za-z0-9_]+)\s*=\s*(["'])(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)\2\s*$/gm)) {
    const name = '%' + m[1];
    if (constants.has(name) && constants.get(name) !== m[3]) exact = false; // one name, two types
    constants.set(name, m[3]);
  }
  const selected = new Set();
  for (const [, filter] of body.matchAll(SELECTION)) {
    if (/^\s*keys\b/.test(filter)) continue; // a lookup by reference, not a selection
    const rest = filter.replace(TYPE_TEST, '').replace(/\bor\b/g, '').trim();
    if (rest !== '') exact = false;
    for (const [, operand] of filter.matchAll(TYPE_TEST)) {
      const type = operand.startsWith('%') ? constants.get(operand) : operand.slice(1, -1);
      if (type === undefined) exact = false;
      else selected.add(type);
    }
  }
  const types = exact && selected.size > 0 ? [...selected].sort() : named;
  return { types, lookup: LOOKUP.test(body), exact: exact && selected.size > 0 };
}

if (scopesOnly) {
  const scopes = {};
  for (const file of validator.getRules(validator.rulesPaths).flatMap(ruleFiles)) {
    scopes[path.relative(process.argv[2], file)] = ruleScope(file);
  }
  process.stdout.write(JSON.stringify(scopes));
  process.exit(0);
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
const groups = new Map(); // "*", or the type list and whether it looks up -> rule files
for (const file of validator.getRules(validator.rulesPaths).flatMap(ruleFiles)) {
  const scope = ruleScope(file);
  const key = scope === null ? '*' : `${scope.types.join(',')}|${scope.lookup ? 'lookup' : ''}`;
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
    const [typeList, lookup] = key === '*' ? [null, ''] : key.split('|');
    const wanted = typeList === null ? null : new Set(typeList.split(','));
    const selected = wanted === null ? resources : resources.filter(([, r]) => wanted.has(r && r.Type));
    if (selected.length === 0) continue; // its rules select nothing here
    const given = wanted === null || !lookup ? selected : closure(selected);
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
