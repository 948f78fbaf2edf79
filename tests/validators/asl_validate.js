// Validate many Amazon States Language definitions in ONE node process with the pinned
// asl-validator (package.json). Input: a JSON file {name: definition}. Output (stdout): JSON
// {name: [{code, message}]} listing every error of every definition (empty list: valid).
"use strict";
const fs = require("fs");
const validator = require("asl-validator");
const validate = validator.default || validator;

const definitions = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = {};
for (const [name, definition] of Object.entries(definitions)) {
  const result = validate(definition, { checkArn: true, checkPaths: true });
  results[name] = result.isValid ? [] : result.errors.map((e) => ({
    code: e["Error code"],
    message: e.Message,
  }));
}
process.stdout.write(JSON.stringify(results));
