// Runs the cdklabs cfn-guard validator (the same code and rules the CDK plugin runs) on ONE
// template and prints its report as JSON. compliance/_guard.py runs one of these per template,
// in parallel, and caches the result by template content.
//
// cfn-guard's cost is (rule files x resources): every one of the 237 Control Tower rule files
// scans every resource of the template for the types it checks (about 14 s of CPU for a
// 300-resource template). So each rule file is given only the resources whose types it
// names: a rule file selects resources only by a literal type it names (`Type == 'AWS::...'`,
// or a keyed lookup followed by such a check); tests/test_guard_parallel.py checks that
// assumption on every rule file of the pinned bundle and that the findings equal a run on
// the whole template. A rule file that names no type, or selects `Resources.*` without a
// type filter, is run on the whole template. Rule files whose types the template does not
// contain are skipped: they select nothing, so they can find nothing.
//
// usage: node guard_worker.js <validator package dir> <template.json> [--whole]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { CfnGuardValidator } = require(path.join(process.argv[2], 'lib', 'plugin.js'));

const validator = new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 256 * 1024 * 1024 });
const templatePath = process.argv[3];

if (process.argv.includes('--whole')) {
  process.stdout.write(JSON.stringify(validator.validate({ templatePaths: [templatePath] })));
  process.exit(0);
}

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
const groups = new Map(); // type list (or "*") -> rule files
for (const file of validator.getRules(validator.rulesPaths).flatMap(ruleFiles)) {
  const types = ruleTypes(file);
  const key = types === null ? '*' : types.join(',');
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(file);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-'));
const report = { success: true, violations: [] };
try {
  let n = 0;
  for (const [key, rules] of groups) {
    const wanted = key === '*' ? null : new Set(key.split(','));
    const selected = wanted === null ? resources : resources.filter(([, r]) => wanted.has(r && r.Type));
    if (selected.length === 0) continue; // its rules select nothing here
    const part = path.join(scratch, `part-${n++}.json`);
    fs.writeFileSync(part, JSON.stringify({ ...template, Resources: Object.fromEntries(selected) }));
    const result = validator.execGuard({ templatePaths: [part], rulePaths: rules });
    report.success = report.success && result.success;
    report.violations.push(...result.violations);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
