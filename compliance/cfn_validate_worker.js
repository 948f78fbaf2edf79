// CDK's own CloudFormation validator (aws-cdk-lib's CloudFormationValidatePlugin, the code the
// app's jsii process would run, from the same unpacked aws-cdk-lib) in a process of its own,
// started before the app builds its constructs: its WebAssembly engine takes about 3 s of CPU
// to start, which then overlaps the app's work instead of following it.
// compliance/_cfn_validate.py starts it, sends the templates that are not in its cache, and
// stops it.
//
// Protocol: prints {"ready": true, "version": ...} once the engine is up; then for each input
// line {"stackTemplates": [{stackConstructPath, templatePath, accountId, region}, ...]} prints
// one line {"version": ..., "report": {success, violations}} (or {"error": ...}).
//
// usage: node cfn_validate_worker.js <aws-cdk-lib package dir>
'use strict';
const path = require('path');
const readline = require('readline');

const { CloudFormationValidatePlugin } = require(
  path.join(process.argv[2], 'core', 'lib', 'validation', 'cloudformation-validate-plugin.js'));
const plugin = new CloudFormationValidatePlugin();
process.stdout.write(JSON.stringify({ ready: true, version: plugin.version }) + '\n');

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let answer;
  try {
    const { stackTemplates } = JSON.parse(line);
    const report = plugin.validate({
      stackTemplates,
      templatePaths: stackTemplates.map((s) => s.templatePath),
    });
    answer = { version: plugin.version, report };
  } catch (e) {
    answer = { error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
