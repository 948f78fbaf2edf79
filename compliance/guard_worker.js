// Runs the cdklabs cfn-guard validator (the same code and rules the CDK plugin runs) on ONE
// template and prints its report as JSON. compliance/_guard.py runs one of these per template,
// in parallel, and caches the result by template content.
// usage: node guard_worker.js <validator package dir> <template.json>
'use strict';
const path = require('path');
const { CfnGuardValidator } = require(path.join(process.argv[2], 'lib', 'plugin.js'));
const validator = new CfnGuardValidator({ controlTowerRulesEnabled: true, maxBuffer: 256 * 1024 * 1024 });
const report = validator.validate({ templatePaths: [process.argv[3]] });
process.stdout.write(JSON.stringify(report));
