#!/usr/bin/env node
// Security-relevant differences between two versions of many CloudFormation templates, computed
// by @aws-cdk/cloudformation-diff (the library behind `cdk diff`). review/change.py runs this once
// for all stacks and interprets the result.
//
// stdin:  {"stacks": [{"key": "dev/Foundation", "old": <template or null>, "new": <template or null>}]}
// stdout: {"stacks": [{"key", "permissionsBroadened", "statements": {"added", "removed"},
//          "managedPolicies": {"added", "removed"}, "securityGroups": {...}, "resources": [...]}]}
//
// Each IAM statement change is the library's (same rows as `cdk diff`'s "IAM Statement Changes"),
// annotated with the resources and properties it comes from: the library is asked once more per
// changed policy-bearing property or resource, so that a statement can be traced to the bucket
// policy, key policy, trust policy or role policy that holds it.
'use strict';

const fs = require('fs');
const { fullDiff } = require('@aws-cdk/cloudformation-diff');
const { IamChanges } = require('@aws-cdk/cloudformation-diff/lib/iam/iam-changes');
const { parseStatements } = require('@aws-cdk/cloudformation-diff/lib/iam/statement');
const { renderIntrinsics } = require('@aws-cdk/cloudformation-diff/lib/render-intrinsics');

function statementJson(s) {
  return {
    sid: s.sid,
    effect: s.effect,
    principals: { not: s.principals.not, values: s.principals.values },
    actions: { not: s.actions.not, values: s.actions.values },
    resources: { not: s.resources.not, values: s.resources.values },
    condition: s.condition === undefined ? null : s.condition,
    rendered: s.render(),
  };
}

function policyJson(m) {
  return { identityArn: m.identityArn, managedPolicyArn: m.managedPolicyArn };
}

function pathOf(template, logicalId) {
  const body = ((template || {}).Resources || {})[logicalId] || {};
  return (body.Metadata || {})['aws:cdk:path'] || null;
}

function typeOf(oldT, newT, logicalId) {
  for (const t of [newT, oldT]) {
    const body = ((t || {}).Resources || {})[logicalId];
    if (body) return body.Type;
  }
  return null;
}

// Where each added or removed statement comes from: one IamChanges per scrutinized change.
function sources(diff, oldT, newT) {
  const out = [];
  const propertyChanges = diff.scrutinizablePropertyChanges(IamChanges.IamPropertyScrutinies);
  const resourceChanges = diff.scrutinizableResourceChanges(IamChanges.IamResourceScrutinies);
  for (const pc of propertyChanges) {
    const iam = new IamChanges({ propertyChanges: [pc], resourceChanges: [] });
    out.push({ logicalId: pc.resourceLogicalId, type: pc.resourceType, property: pc.propertyName,
      scrutiny: pc.scrutinyType, iam });
  }
  for (const rc of resourceChanges) {
    const iam = new IamChanges({ propertyChanges: [], resourceChanges: [rc] });
    out.push({ logicalId: rc.resourceLogicalId, type: rc.resourceType, property: null,
      scrutiny: rc.scrutinyType, iam });
  }
  return out.map((s) => ({ ...s, path: pathOf(newT, s.logicalId) || pathOf(oldT, s.logicalId) }));
}

// Policy statements in properties the service specification does not mark for IAM scrutiny
// (e.g. AWS::Events::EventBusPolicy's Statement): parsed and compared with the library's own
// statement model, so they are not silently left out.
function unscrutinized(diff, srcs, oldT, newT) {
  const seen = new Set(srcs.map((s) => `${s.logicalId}/${s.property}`));
  // The library reads an AWS::IAM::ManagedPolicy's statements only for the Groups, Users and
  // Roles the policy itself names; a policy attached from the role's ManagedPolicyArns (as the
  // platform attaches them) would show no statement at all. Those are parsed here, with the
  // policy as principal; review/change.py names the roles that attach it.
  const attachedByName = (logicalId) => {
    for (const t of [oldT, newT]) {
      const p = (((t || {}).Resources || {})[logicalId] || {}).Properties || {};
      if (p.Groups || p.Users || p.Roles) return false;
    }
    return true;
  };
  const scrutinizedResources = new Set(srcs.filter((s) => s.property === null
    && !(s.type === 'AWS::IAM::ManagedPolicy' && attachedByName(s.logicalId))).map((s) => s.logicalId));
  const added = [];
  const removed = [];
  diff.resources.forEachDifference((logicalId, change) => {
    if (scrutinizedResources.has(logicalId)) return;
    const oldProps = change.oldProperties || {};
    const newProps = change.newProperties || {};
    for (const name of new Set([...Object.keys(oldProps), ...Object.keys(newProps)])) {
      if (seen.has(`${logicalId}/${name}`)) continue;
      const pd = { oldValue: oldProps[name], newValue: newProps[name] };
      const read = (v) => {
        if (v === undefined || v === null || typeof v !== 'object') return [];
        const raw = name === 'Statement' ? v : v.Statement;
        if (raw === undefined) return [];
        const parsed = parseStatements(renderIntrinsics(raw));
        for (const st of parsed) {
          st.resources.replaceEmpty('${' + logicalId + '.Arn}');
          st.principals.replaceEmpty('AWS:${' + logicalId + '}');
        }
        return parsed;
      };
      const before = read(pd.oldValue);
      const after = read(pd.newValue);
      const src = [{ logicalId, type: typeOf(oldT, newT, logicalId), property: name, scrutiny: 'none (parsed here)',
        path: pathOf(newT, logicalId) || pathOf(oldT, logicalId) }];
      for (const st of after) if (!before.some((b) => b.equal(st))) added.push({ ...statementJson(st), sources: src });
      for (const st of before) if (!after.some((a) => a.equal(st))) removed.push({ ...statementJson(st), sources: src });
    }
  });
  return { added, removed };
}

function annotate(statement, srcs, side) {
  const from = [];
  for (const s of srcs) {
    const list = side === 'added' ? s.iam.statements.additions : s.iam.statements.removals;
    if (list.some((x) => x.equal(statement))) {
      from.push({ logicalId: s.logicalId, type: s.type, property: s.property, scrutiny: s.scrutiny,
        path: s.path });
    }
  }
  return { ...statementJson(statement), sources: from };
}

function resourceChanges(diff, oldT, newT) {
  const out = [];
  diff.resources.forEachDifference((logicalId, change) => {
    if (!change.isDifferent) return;
    const properties = {};
    for (const [name, pd] of Object.entries(change.propertyUpdates || {})) {
      properties[name] = { old: pd.oldValue === undefined ? null : pd.oldValue,
        new: pd.newValue === undefined ? null : pd.newValue };
    }
    const other = {};
    for (const [name, od] of Object.entries(change.otherChanges || {})) {
      if (name === 'Metadata') continue;
      other[name] = { old: od.oldValue === undefined ? null : od.oldValue,
        new: od.newValue === undefined ? null : od.newValue };
    }
    const oldBody = ((oldT || {}).Resources || {})[logicalId] || {};
    const newBody = ((newT || {}).Resources || {})[logicalId] || {};
    out.push({
      logicalId,
      type: typeOf(oldT, newT, logicalId),
      path: pathOf(newT, logicalId) || pathOf(oldT, logicalId),
      change: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'updated',
      impact: change.changeImpact,
      properties,
      other,
      oldDeletionPolicy: oldBody.DeletionPolicy || null,
      newDeletionPolicy: newBody.DeletionPolicy || null,
    });
  });
  return out;
}

function diffStack(entry) {
  const oldT = entry.old || {};
  const newT = entry.new || {};
  const diff = fullDiff(oldT, newT);
  const srcs = sources(diff, oldT, newT);
  const sg = diff.securityGroupChanges.toJson();
  const extra = unscrutinized(diff, srcs, oldT, newT);
  return {
    key: entry.key,
    permissionsBroadened: diff.permissionsBroadened,
    statements: {
      added: diff.iamChanges.statements.additions.map((s) => annotate(s, srcs, 'added')).concat(extra.added),
      removed: diff.iamChanges.statements.removals.map((s) => annotate(s, srcs, 'removed')).concat(extra.removed),
    },
    managedPolicies: {
      added: diff.iamChanges.managedPolicies.additions.map(policyJson),
      removed: diff.iamChanges.managedPolicies.removals.map(policyJson),
    },
    securityGroups: {
      ingressAdded: sg.ingressRuleAdditions || [],
      ingressRemoved: sg.ingressRuleRemovals || [],
      egressAdded: sg.egressRuleAdditions || [],
      egressRemoved: sg.egressRuleRemovals || [],
    },
    resources: resourceChanges(diff, oldT, newT),
  };
}

function main() {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  const stacks = (input.stacks || []).map(diffStack);
  process.stdout.write(JSON.stringify({ stacks }));
}

main();
